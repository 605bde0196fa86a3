"""GOV.UK Frontend's compiled assets: where the set-up installs them and how the app finds them.

The assets come from the ``govuk-frontend`` npm package and are never committed. ``civicml ui
--install-assets`` runs ``npm install`` into a cache folder (``$CIVICML_UI_ASSETS`` or
``~/.cache/civicml/ui-assets``); without them the dashboard falls back to civicml's own small
stylesheet in GOV.UK colours and typography.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from civicml._errors import CivicMLError

__all__ = ["GOVUK_FRONTEND_VERSION", "assets_dir", "govuk_dist", "install_assets"]

#: the govuk-frontend release the templates' markup follows
GOVUK_FRONTEND_VERSION = "6.6.0"


def assets_dir() -> Path:
    """The folder the set-up fills: ``$CIVICML_UI_ASSETS`` or ``~/.cache/civicml/ui-assets``."""
    env = os.environ.get("CIVICML_UI_ASSETS")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "civicml" / "ui-assets"


def govuk_dist(root: str | Path | None = None) -> Path | None:
    """``node_modules/govuk-frontend/dist/govuk`` under ``root`` when installed, else ``None``."""
    base = Path(root) if root is not None else assets_dir()
    dist = base / "node_modules" / "govuk-frontend" / "dist" / "govuk"
    return dist if (dist / "govuk-frontend.min.css").is_file() else None


def install_assets(
    root: str | Path | None = None, *, version: str = GOVUK_FRONTEND_VERSION, timeout: float = 300
) -> Path:
    """Install ``govuk-frontend`` with npm into ``root`` and return its ``dist/govuk`` folder.

    Parameters
    ----------
    root : path, optional
        Where to install; defaults to :func:`assets_dir`.
    version : str
        The npm version to install.
    timeout : float
        Seconds to wait for npm.

    Raises
    ------
    CivicMLError
        When npm is missing or the install fails.
    """
    base = Path(root) if root is not None else assets_dir()
    npm = shutil.which("npm")
    if npm is None:
        raise CivicMLError.build(
            "npm is not installed, so the GOV.UK Frontend assets cannot be installed",
            fix="Install Node.js and npm, or run the dashboard without them (it falls back to "
            "civicml's own stylesheet)",
        )
    base.mkdir(parents=True, exist_ok=True)
    cmd = [npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(base)]
    done = subprocess.run(
        [*cmd, f"govuk-frontend@{version}"],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    dist = govuk_dist(base)
    if done.returncode != 0 or dist is None:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise CivicMLError.build(
            f"npm could not install govuk-frontend@{version} into {base}",
            got=tail[0],
            fix="Check the network and npm's registry settings, then rerun "
            "'civicml ui --install-assets'",
        )
    return dist
