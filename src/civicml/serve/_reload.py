"""Where the served model comes from, and hot reload when its alias moves.

A :class:`ModelSource` says cheaply which bundle should be served now (:meth:`fingerprint`) and
loads it verified (:meth:`load`). :class:`ModelHolder` keeps the current
:class:`~civicml.serve._runtime.ModelRuntime`, polls the source in a background thread and
swaps in a new runtime atomically: requests already running keep the runtime they started
with, and a bundle that fails verification is refused while the old one keeps serving.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from pathlib import Path
from typing import Any, Protocol

from civicml.bundle import Bundle, load_bundle, sha256_bytes
from civicml.serve._governance import Governance, find_version, gate, record_override
from civicml.serve._runtime import ModelRuntime, ServeOptions

__all__ = ["BundleSource", "ModelHolder", "ModelSource", "RegistrySource"]

_log = logging.getLogger("civicml.serve")


class ModelSource(Protocol):
    """What the app serves: a name, a cheap fingerprint, and a verified load."""

    @property
    def name(self) -> str:
        """The model name the app reports."""
        ...

    def fingerprint(self) -> str:
        """An identity of the bundle that should be served now (e.g. its digest)."""
        ...

    def load(self) -> tuple[Bundle, str]:
        """The verified bundle and its version label."""
        ...


class BundleSource:
    """Serve a bundle folder (``civicml serve --bundle DIR``); reloads when it is replaced."""

    def __init__(self, path: str | Path, name: str | None = None, registry: Any = None) -> None:
        self.path = Path(path)
        self._name = name
        self.registry = registry

    @property
    def name(self) -> str:
        if self._name is None:
            self._name = _model_name(verify_info(self.path), self.path.name)
        return self._name

    def fingerprint(self) -> str:
        try:
            return sha256_bytes((self.path / "manifest.json").read_bytes())
        except OSError:
            return ""

    def load(self) -> tuple[Bundle, str]:
        bundle = load_bundle(self.path)
        return bundle, bundle.digest[:12]

    def registered(self, digest: str) -> Any:
        """The project registry's version holding this bundle, if it is one (else ``None``)."""
        if self.registry is None:
            return None
        return find_version(self.registry, digest, hint=self.name)

    def record_override(self, version: Any, reason: str) -> None:
        record_override(self.registry, version, reason)


class RegistrySource:
    """Serve ``name@alias`` from a civicml registry; reloads when the alias moves."""

    def __init__(self, registry: Any, ref: str) -> None:
        self.registry = registry
        self.ref = ref
        self.name = ref.split("@", 1)[0].split("/", 1)[0]

    def fingerprint(self) -> str:
        return str(self.registry.resolve(self.ref).digest)

    def load(self) -> tuple[Bundle, str]:
        version = self.registry.resolve(self.ref)
        bundle = self.registry.load_version(f"{version.name}/{version.version}")
        self._version = version
        return bundle, str(version.version)

    def registered(self, digest: str) -> Any:
        """The registry's record of the version just loaded (its status and oversight)."""
        version = getattr(self, "_version", None)
        if version is None or version.digest != digest:
            return find_version(self.registry, digest, hint=self.name)
        return version

    def record_override(self, version: Any, reason: str) -> None:
        record_override(self.registry, version, reason)


def verify_info(path: Path) -> dict[str, Any]:
    import json

    try:
        return dict(json.loads((path / "model_info.json").read_bytes()))
    except (OSError, ValueError):
        return {}


def _model_name(info: dict[str, Any], fallback: str) -> str:
    name = info.get("name")
    return str(name) if isinstance(name, str) and name else fallback


class ModelHolder:
    """The current runtime, swapped atomically on reload.

    Parameters
    ----------
    source : ModelSource
    options : ServeOptions
    poll_seconds : float
        How often the background poller checks the source; 0 turns polling off.
    on_reload : callable, optional
        Called with ``(ok: bool, message: str)`` after each reload attempt.
    """

    def __init__(
        self,
        source: ModelSource,
        options: ServeOptions | None = None,
        *,
        poll_seconds: float = 10.0,
        on_reload: Any = None,
        override_digest: str | None = None,
    ) -> None:
        self.source = source
        self.options = options or ServeOptions()
        #: the version an --allow-unapproved override was given (and audited) for
        self.override_digest = override_digest
        self.poll_seconds = poll_seconds
        self.on_reload = on_reload
        self.runtime: ModelRuntime | None = None
        self._fingerprint = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def load(self) -> ModelRuntime:
        """Load the source's bundle now (raises if it fails verification)."""
        fp = self.source.fingerprint()
        bundle, version = self.source.load()
        runtime = self._runtime(bundle, version)
        self.runtime = runtime
        self._fingerprint = fp or bundle.digest
        return runtime

    def _runtime(self, bundle: Bundle, version: str) -> ModelRuntime:
        """Gate the bundle (approved, or the audited override) and build its runtime."""
        governance = self._govern(bundle)
        options = self.options
        if governance.oversight != options.oversight:
            options = dataclasses.replace(options, oversight=governance.oversight)
        return ModelRuntime(bundle, self.source.name, version, options, governance=governance)

    def _govern(self, bundle: Bundle) -> Governance:
        lookup = getattr(self.source, "registered", None)
        record = lookup(bundle.digest) if lookup is not None else None
        governance = gate(
            record,
            oversight=self.options.oversight,
            allow_unapproved=self.options.allow_unapproved,
            override_digest=self.override_digest,
        )
        if governance.unapproved_override is not None and self.override_digest is None:
            self.source.record_override(record, governance.unapproved_override)  # type: ignore[attr-defined]
            self.override_digest = governance.digest
        return governance

    def check(self) -> bool:
        """Reload if the source changed; return True when a new runtime was swapped in."""
        with self._lock:
            try:
                fp = self.source.fingerprint()
            except Exception as exc:
                _log.error("model source check failed", extra={"error": _short(exc)})
                return False
            if not fp or fp == self._fingerprint:
                return False
            old = self.runtime
            try:
                bundle, version = self.source.load()
                runtime = self._runtime(bundle, version)
            except Exception as exc:
                self._fingerprint = fp  # do not retry the same broken bundle every poll
                msg = f"refused the new bundle; still serving {old.version if old else None}"
                _log.error(msg, extra={"event": "reload_refused", "error": _short(exc)})
                if self.on_reload:
                    self.on_reload(False, _short(exc))
                return False
            self.runtime = runtime
            self._fingerprint = fp
            _log.info(
                "model reloaded",
                extra={
                    "event": "reload",
                    "model_version": version,
                    "previous_version": old.version if old else None,
                },
            )
            if self.on_reload:
                self.on_reload(True, version)
            return True

    def start(self) -> None:
        if self.poll_seconds <= 0 or (self._thread and self._thread.is_alive()):
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="civicml-reload", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self.check()


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:500]
