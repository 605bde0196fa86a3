"""A version's stakeholder reports, written once per bundle into a cache folder.

The dashboard shows what :func:`civicml.report.write_report` writes (report.html, model_card.md,
atrs.json, atrs.html) for the bundle the registry holds, keyed by its sha256 and its stage.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from civicml.registry import ModelVersion, Registry

__all__ = ["AtrsGap", "ReportCache", "ReportFiles"]


@dataclass(frozen=True)
class ReportFiles:
    """The report files of one version."""

    html: Path
    model_card: Path
    atrs_json: Path
    atrs_html: Path

    def atrs(self) -> dict[str, Any]:
        """The ATRS record as JSON."""
        return json.loads(self.atrs_json.read_text(encoding="utf-8"))

    def needs_human(self) -> list[str]:
        """Dotted paths of the ATRS fields a person still has to fill in."""
        from civicml.report import ATRSRecord, missing_fields

        return missing_fields(ATRSRecord.model_validate(self.atrs()))


@dataclass(frozen=True)
class AtrsGap:
    """The ATRS fields still waiting for a person, for one version."""

    version: ModelVersion
    fields: list[str]
    error: str | None = None


class ReportCache:
    """Write reports on first use and keep them under ``root/<sha256>-<stage>-<state>/``, where
    ``state`` changes whenever the version's status or approval does (so a report never shows
    an approval record older than the registry's)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()

    def files(self, registry: Registry, version: ModelVersion) -> ReportFiles:
        """The version's report files, writing them first if needed."""
        from civicml.registry import approval_record
        from civicml.report import write_report

        stage = "production" if "production" in version.aliases else "none"
        state = hashlib.sha256(
            f"{version.status}|{version.approved_by}|{version.approved_at}".encode()
        ).hexdigest()[:12]
        out = self.root / f"{version.digest}-{stage}-{state}"
        files = ReportFiles(
            out / "report.html", out / "model_card.md", out / "atrs.json", out / "atrs.html"
        )
        with self._lock:
            if not files.atrs_html.is_file():
                bundle = registry.load_version(version.ref)
                info = {
                    "name": version.name,
                    "version": version.version,
                    "stage": stage,
                    "status": version.status,
                    "approved_by": version.approved_by,
                }
                approval = approval_record(registry, version.name, version.version)
                write_report(bundle.path, out, pdf=False, registry_info=info, approval=approval)
        return files

    def gaps(self, registry: Registry, versions: list[ModelVersion]) -> list[AtrsGap]:
        """For each version, the ATRS fields waiting for a person (or why none could be read)."""
        from civicml._errors import CivicMLError

        out = []
        for v in versions:
            try:
                out.append(AtrsGap(v, self.files(registry, v).needs_human()))
            except (CivicMLError, OSError, ValueError) as exc:
                out.append(AtrsGap(v, [], str(exc).splitlines()[0]))
        return out
