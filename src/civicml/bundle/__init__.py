"""The deployable artifact: safe serialisation, a manifest of hashes, an Ed25519 signature,
a CycloneDX SBOM of the environment that wrote it, verified loading with a package version check.

``Predictor``, ``iter_batches`` and the ONNX export (``export_onnx``, ``parity``, ...) load
lazily: they need pandas, which registry commands and bundle verification do not.
"""

from typing import TYPE_CHECKING, Any

from civicml.bundle._bundle import (
    MODEL_FILE,
    Bundle,
    dumps_json,
    load_bundle,
    save_bundle,
    verify_bundle,
)
from civicml.bundle._manifest import MANIFEST, Manifest, sha256_bytes, sha256_file
from civicml.bundle._sbom import SBOM_FILE, build_sbom, environment_components, purl
from civicml.bundle._serialise import TRUSTED_TYPES, dump_model, load_model
from civicml.bundle._signing import (
    KEY_ENV,
    SIGNATURE,
    BundleSignature,
    KeyFiles,
    default_key_dir,
    default_key_path,
    fingerprint,
    generate_keypair,
    public_key_pem,
    read_signature,
    sign_bundle,
    sign_with_available_key,
    write_keypair,
)
from civicml.bundle._versions import (
    POLICY_ENV,
    PackageVersionWarning,
    VersionCheck,
    VersionDifference,
    check_versions,
    installed_version,
)

if TYPE_CHECKING:  # loaded lazily at run time by __getattr__ below
    from civicml.bundle._onnx import (
        OnnxExport,
        ParityResult,
        export_onnx,
        onnx_feed,
        parity,
        string_columns,
    )
    from civicml.bundle._predict import Predictor, iter_batches

_ONNX = ("OnnxExport", "ParityResult", "export_onnx", "onnx_feed", "parity", "string_columns")

__all__ = [
    "KEY_ENV",
    "MANIFEST",
    "MODEL_FILE",
    "POLICY_ENV",
    "SBOM_FILE",
    "SIGNATURE",
    "TRUSTED_TYPES",
    "Bundle",
    "BundleSignature",
    "KeyFiles",
    "Manifest",
    "OnnxExport",
    "PackageVersionWarning",
    "ParityResult",
    "Predictor",
    "VersionCheck",
    "VersionDifference",
    "build_sbom",
    "check_versions",
    "default_key_dir",
    "default_key_path",
    "dump_model",
    "dumps_json",
    "environment_components",
    "export_onnx",
    "fingerprint",
    "generate_keypair",
    "installed_version",
    "iter_batches",
    "load_bundle",
    "load_model",
    "onnx_feed",
    "parity",
    "public_key_pem",
    "purl",
    "read_signature",
    "save_bundle",
    "sha256_bytes",
    "sha256_file",
    "sign_bundle",
    "sign_with_available_key",
    "string_columns",
    "verify_bundle",
    "write_keypair",
]


def __getattr__(name: str) -> Any:
    if name in ("Predictor", "iter_batches"):
        from civicml.bundle import _predict

        return getattr(_predict, name)
    if name in _ONNX:
        from civicml.bundle import _onnx

        return getattr(_onnx, name)
    raise AttributeError(f"module 'civicml.bundle' has no attribute {name!r}")
