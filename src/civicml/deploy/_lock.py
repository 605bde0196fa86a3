"""The hashed lock an image installs: civicml's serve locks, shipped inside the package.

``tools/lock.sh`` compiles ``locks/serve.lock`` (civicml with the ``scale`` extra) and
``locks/serve-deep.lock`` (``scale`` and ``deep``) with pip-tools, every package pinned and
listed with its sha256 hashes, at the versions of ``requirements/dev.lock`` (what ``make``
installs). :func:`choose_lock` picks the one a bundle's extras need and checks it against the
versions the model was trained with: the image installs the lock (``pip install
--require-hashes``) only when they agree, because a skops model loads reliably only with the
packages that fitted it. When they differ the Dockerfile pins the bundle's versions instead,
without hashes, and says so.

Examples
--------
>>> text = '''numpy==2.1.0 \\\\
...     --hash=sha256:''' + "a" * 64 + '''
...     # via civicml
... scikit-learn==1.5.2 \\\\
...     --hash=sha256:''' + "b" * 64 + "\\n"
>>> parse_lock(text)
{'numpy': '2.1.0', 'scikit-learn': '1.5.2'}
>>> choice = choose_lock(("scale",), {"scikit-learn": "1.5.2"}, lock_text=text)
>>> choice.usable, choice.mismatches
(True, {})
>>> choose_lock(("scale",), {"scikit-learn": "1.4.0"}, lock_text=text).mismatches
{'scikit-learn': ('1.4.0', '1.5.2')}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["LOCKS_DIR", "LockChoice", "choose_lock", "parse_lock"]

#: Where the serve locks live inside the installed package.
LOCKS_DIR = Path(__file__).resolve().parent / "locks"

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_lock(text: str) -> dict[str, str]:
    """Normalised package name -> pinned version, from a pip-compile lock's ``name==version``
    lines (hash and comment lines are skipped)."""
    return {_norm(m.group(1)): m.group(2) for m in map(_PIN.match, text.splitlines()) if m}


@dataclass(frozen=True)
class LockChoice:
    """The serve lock for one image, and whether the bundle's versions agree with it.

    Attributes
    ----------
    name : str
        ``serve.lock`` or ``serve-deep.lock``.
    path : Path or None
        The lock file (None when this civicml was installed without it).
    pins : dict of str to str
        What the lock pins (normalised name -> version).
    mismatches : dict of str to (str, str or None)
        Package -> (the version the model was trained with, the lock's version or None).
    """

    name: str
    path: Path | None
    pins: dict[str, str] = field(default_factory=dict)
    mismatches: dict[str, tuple[str, str | None]] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        """The image can install the lock: it exists and the model's versions match it."""
        return bool(self.pins) and not self.mismatches

    def explain(self) -> str:
        """One line on why the lock is or is not installed (for the Dockerfile and the CLI)."""
        if self.usable:
            return (
                f"every package is pinned by version and sha256 from {self.name} (civicml's "
                "serve lock); the model's own packages match it"
            )
        if not self.pins:
            return f"{self.name} is not installed with this civicml, so only the model's packages are pinned"
        differ = ", ".join(
            f"{k} {trained} (lock: {locked or 'absent'})"
            for k, (trained, locked) in sorted(self.mismatches.items())
        )
        return (
            f"not installed from {self.name}: the model was trained with {differ}, so the "
            "image pins the model's versions instead, without hashes (retrain in the locked "
            "environment, make test's .venv, to get a hash-checked image)"
        )


def choose_lock(
    extras: tuple[str, ...],
    trained: dict[str, str],
    *,
    lock_text: str | None = None,
) -> LockChoice:
    """The serve lock for ``extras`` (``serve-deep.lock`` when ``deep`` is among them), checked
    against ``trained`` (package -> the version the model was fitted with). ``lock_text``
    replaces reading the file (tests)."""
    name = "serve-deep.lock" if "deep" in extras else "serve.lock"
    path: Path | None = LOCKS_DIR / name
    if lock_text is None:
        try:
            lock_text = path.read_text(encoding="utf-8") if path is not None else ""
        except OSError:
            path, lock_text = None, ""
    pins = parse_lock(lock_text)
    mismatches = {
        key: (version, pins.get(key))
        for key, version in ((_norm(k), v) for k, v in trained.items())
        if pins and pins.get(key) != version
    }
    return LockChoice(name, path if pins else None, pins, mismatches)
