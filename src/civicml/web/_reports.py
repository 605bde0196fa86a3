"""A version's stakeholder reports, written once per bundle into a cache folder, and its ATRS
record with the answers a person stored in the registry.

The dashboard shows what :func:`civicml.report.write_report` writes (report.html, model_card.md,
atrs.json, atrs.html) for the bundle the registry holds, keyed by its sha256, its stage, its
approval and the revisions of its stored ATRS answers; the ATRS files hold the record with those
answers put in (:func:`version_atrs`). :func:`store_atrs_answers` checks a person's answers
against the record and stores them (what ``civicml atrs fill``, the API and the dashboard's form
call).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from civicml.registry import Actor, ModelVersion, Registry
    from civicml.report import ATRSRecord, Gap

__all__ = [
    "AtrsGap",
    "ReportCache",
    "ReportFiles",
    "answers_state",
    "atrs_gaps",
    "store_atrs_answers",
    "version_atrs",
    "with_answers",
]


def _registry_info(version: ModelVersion, registry: Registry | None = None) -> dict[str, Any]:
    stage = "production" if "production" in version.aliases else "none"
    info: dict[str, Any] = {
        "name": version.name,
        "version": version.version,
        "stage": "archived" if version.status == "retired" else stage,
        "status": version.status,
        "approved_by": version.approved_by,
    }
    if registry is not None:  # reviews give ATRS its update dates; retirement its archive date
        decisions = registry.decisions(version.name, version.version)
        info["reviewed_at"] = [d.at[:10] for d in decisions if d.kind == "review"]
        retired = [d.at[:10] for d in decisions if d.kind == "retire"]
        info["retired_at"] = retired[-1] if retired else None
    return info


def version_atrs(registry: Registry, name: str, version: int) -> tuple[ATRSRecord, ATRSRecord]:
    """The ATRS record civicml generates for a registered version (from its bundle and approval
    record), and that record with the answers stored in the registry put in (who answered each,
    when and which revision kept under ``_civicml.answers``)."""
    from civicml.registry import approval_record
    from civicml.report import bundle_atrs

    v = registry.get_version(name, version)
    bundle = registry.load_version(v.ref)
    generated = bundle_atrs(
        bundle.path,
        registry_info=_registry_info(v, registry),
        approval=approval_record(registry, name, version),
    )
    return generated, with_answers(registry, name, version, generated)


def with_answers(registry: Registry, name: str, version: int, generated: ATRSRecord) -> ATRSRecord:
    """``generated`` with the answers stored for the version put in (ids not in the record are
    left out)."""
    from civicml.registry import atrs_answers
    from civicml.report import answer_ids, apply_answers

    valid = set(answer_ids(generated))
    rows = {k: r for k, r in atrs_answers(registry, name, version).items() if k in valid}
    provenance = {
        k: {key: r[key] for key in ("revision", "answered_by", "answered_at")}
        for k, r in rows.items()
    }
    answered = {k: r["answer"] for k, r in rows.items()}
    return apply_answers(generated, answered, provenance)


def atrs_gaps(registry: Registry, version: ModelVersion) -> list[str]:
    """The gaps of a version's ATRS record (its generated part with the stored answers), each as
    ``"<answer id> (<problem>)"``: what :attr:`civicml.registry.Registry.atrs_check` calls
    before a serving alias. Empty when the record is complete."""
    from civicml.report import find_gaps

    _, record = version_atrs(registry, version.name, version.version)
    return [f"{g.id} ({g.problem})" for g in find_gaps(record)]


def store_atrs_answers(
    registry: Registry,
    name: str,
    version: int,
    answers: Mapping[str, Any],
    *,
    actor: str | Actor,
    reason: str | None = None,
) -> list[dict[str, Any]]:
    """Check ``answers`` (answer id to text) against the version's record, refusing ids that
    are not its fields, and store them (versioned and audited); the rows written."""
    from civicml.registry import set_atrs_answers
    from civicml.report import normalise_answers

    generated, _ = version_atrs(registry, name, version)
    checked = normalise_answers(generated, answers)  # GovernanceError listing the valid ids
    return set_atrs_answers(registry, name, version, checked, actor=actor, reason=reason)


def answers_state(registry: Registry, name: str, version: int) -> str:
    """A short fingerprint of the stored answers that apply to a version (changes with every
    new revision)."""
    from civicml.registry import atrs_answers

    rows = atrs_answers(registry, name, version)
    text = "|".join(f"{k}:{rows[k]['revision']}" for k in sorted(rows))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


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

    def gaps(self) -> list[Gap]:
        """The ATRS fields a person still has to complete or correct, with their labels."""
        from civicml.report import ATRSRecord, find_gaps

        return find_gaps(ATRSRecord.model_validate(self.atrs()))

    def needs_human(self) -> list[str]:
        """Dotted paths of the ATRS fields a person still has to fill in."""
        return list(dict.fromkeys(g.path for g in self.gaps()))


@dataclass(frozen=True)
class AtrsGap:
    """The ATRS fields still waiting for a person, for one version (``gaps`` with labels)."""

    version: ModelVersion
    fields: list[str]
    error: str | None = None
    gaps: list[Gap] = field(default_factory=list)


class ReportCache:
    """Write reports on first use and keep them under ``root/<sha256>-<stage>-<state>/``, where
    ``state`` changes whenever the version's status or approval does, or a stored ATRS answer
    (so a page never shows an approval record or answers older than the registry's)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()

    def files(self, registry: Registry, version: ModelVersion) -> ReportFiles:
        """The version's report files, writing them first if needed."""
        from civicml.registry import approval_record
        from civicml.report import write_report

        info = _registry_info(version, registry)
        answers = answers_state(registry, version.name, version.version)
        decided = len(info.get("reviewed_at") or []), info.get("retired_at")  # reviews, retirement
        state = hashlib.sha256(
            f"{version.status}|{version.approved_by}|{version.approved_at}|{answers}|{decided}".encode()
        ).hexdigest()[:12]
        out = self.root / f"{version.digest}-{info['stage']}-{state}"
        files = ReportFiles(
            out / "report.html", out / "model_card.md", out / "atrs.json", out / "atrs.html"
        )
        with self._lock:
            if not files.atrs_html.is_file():
                bundle = registry.load_version(version.ref)
                approval = approval_record(registry, version.name, version.version)
                write_report(  # the ATRS record built once, with the stored answers put in
                    bundle.path,
                    out,
                    pdf=False,
                    registry_info=info,
                    approval=approval,
                    fill_atrs=lambda record: with_answers(
                        registry, version.name, version.version, record
                    ),
                )
        return files

    def gaps(self, registry: Registry, versions: list[ModelVersion]) -> list[AtrsGap]:
        """For each version, the ATRS fields waiting for a person (or why none could be read)."""
        from civicml._errors import CivicMLError

        out = []
        for v in versions:
            try:
                gaps = self.files(registry, v).gaps()
                out.append(AtrsGap(v, list(dict.fromkeys(g.path for g in gaps)), gaps=gaps))
            except (CivicMLError, OSError, ValueError) as exc:
                out.append(AtrsGap(v, [], str(exc).splitlines()[0]))
        return out
