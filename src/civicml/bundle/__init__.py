"""The deployable artifact: safe serialisation, a manifest of hashes, verified loading."""

from civicml.bundle._bundle import (
    MODEL_FILE,
    Bundle,
    dumps_json,
    load_bundle,
    save_bundle,
    verify_bundle,
)
from civicml.bundle._manifest import MANIFEST, Manifest, sha256_bytes, sha256_file
from civicml.bundle._predict import Predictor, iter_batches
from civicml.bundle._serialise import TRUSTED_TYPES, dump_model, load_model

__all__ = [
    "MANIFEST",
    "MODEL_FILE",
    "TRUSTED_TYPES",
    "Bundle",
    "Manifest",
    "Predictor",
    "dump_model",
    "dumps_json",
    "iter_batches",
    "load_bundle",
    "load_model",
    "save_bundle",
    "sha256_bytes",
    "sha256_file",
    "verify_bundle",
]
