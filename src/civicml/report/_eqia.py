"""The Equality Impact Assessment (EqIA) for the Public Sector Equality Duty, as HTML and Markdown.

Built from a bundle's fairness results (``assessment.json`` ``"fairness"``) and its spec: each of
the nine protected characteristics of the Equality Act 2010 is *assessed* (group outcomes, 95%
intervals, the gaps flagged), *not available* (the data holds no column for it; the reason
says so) or *not relevant* (a person's reason, from ``equality.not_relevant`` in civicml.yaml).
The parts only a person can write — mitigations, justification, engagement, sign-off — carry the
marker ``TO BE COMPLETED BY A PERSON`` unless civicml.yaml records them
(``equality.mitigations``, ``columns.justification``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from civicml._errors import BundleError, SpecError
from civicml._files import create_private_dir, write_private_text

__all__ = ["CHARACTERISTIC_NAMES", "EqIAPaths", "eqia_context", "equality_states", "write_eqia"]

#: How the EqIA names each characteristic (Equality Act 2010, s.4).
CHARACTERISTIC_NAMES: dict[str, str] = {
    "age": "Age",
    "disability": "Disability",
    "gender_reassignment": "Gender reassignment",
    "marriage_and_civil_partnership": "Marriage and civil partnership",
    "pregnancy_and_maternity": "Pregnancy and maternity",
    "race": "Race",
    "religion_or_belief": "Religion or belief",
    "sex": "Sex",
    "sexual_orientation": "Sexual orientation",
}

#: Group measures the tables show when present: key, heading, whether it is a rate.
_MEASURES: tuple[tuple[str, str, bool], ...] = (
    ("selection_rate", "Selected (positive decision)", True),
    ("fpr", "False positive rate", True),
    ("fnr", "False negative rate", True),
    ("mae", "Mean absolute error", False),
    ("accuracy", "Accuracy", True),
    ("flag_rate", "Flagged as unusual", True),
)


@dataclass(frozen=True)
class EqIAPaths:
    """Where :func:`write_eqia` put the two files."""

    html: Path
    markdown: Path


def _not_relevant(spec: dict[str, Any]) -> dict[str, str]:
    """``equality.not_relevant`` checked: known characteristics, each with a reason."""
    raw = (spec.get("equality") or {}).get("not_relevant") or {}
    if not isinstance(raw, dict):
        raise SpecError.build(
            "equality.not_relevant in civicml.yaml is not a mapping",
            expected="{characteristic: reason}",
            got=raw,
            fix="Write one line per characteristic, e.g. 'pregnancy_and_maternity: <why>'",
        )
    out: dict[str, str] = {}
    for char, reason in raw.items():
        if char not in CHARACTERISTIC_NAMES:
            raise SpecError.build(
                f"equality.not_relevant names {char!r}, which is not a protected "
                "characteristic of the Equality Act 2010",
                expected=f"one of {sorted(CHARACTERISTIC_NAMES)}",
                got=char,
                fix="Use the characteristic's name as listed",
            )
        if reason is None or not str(reason).strip():
            raise SpecError.build(
                f"equality.not_relevant gives no reason for {char!r}",
                fix="Write why this characteristic is not relevant to the model; a person "
                "must give the reason",
            )
        out[str(char)] = " ".join(str(reason).split())
    return out


def _measures(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"key": k, "label": label, "rate": rate}
        for k, label, rate in _MEASURES
        if any(r.get(k) is not None for r in rows)
    ]


def _table(t: dict[str, Any], describe: dict[str, str]) -> dict[str, Any]:
    """One fairness table, as the EqIA shows it."""
    rows = list(t.get("groups") or [])
    gaps = [
        (label, t.get(key))
        for key, label in (
            ("demographic_parity_difference", "Largest gap in selection rate"),
            ("equalized_odds_difference", "Largest gap in error rates (equalised odds)"),
            ("difference", f"Largest gap in {str(t.get('metric') or 'error').upper()}"),
        )
        if t.get(key) is not None
    ]
    col = t.get("column")
    return {
        "name": t.get("name") or t.get("characteristic"),
        "column": col,
        "column_text": describe.get(str(col), "") if col else "",
        "groups": rows,
        "measures": _measures(rows),
        "gaps": gaps,
        "flagged": [w for w in t.get("warnings") or [] if "fewer than" not in w],
        "small": [w for w in t.get("warnings") or [] if "fewer than" in w],
        "basis": t.get("gap_basis"),
    }


def equality_states(fairness: dict[str, Any], spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The nine characteristics, each ``{"id", "name", "state", "reason"}``; ``state`` is
    ``"assessed"``, ``"not relevant"`` or ``"not available"``.

    A characteristic with results is assessed; otherwise a person's reason under
    ``equality.not_relevant`` makes it not relevant; otherwise it is not available and the
    reason says why (no column named under ``protected:``, or the column is not in the data).

    Examples
    --------
    >>> fair = {"characteristics": [{"characteristic": "sex", "kind": "single", "groups": []}],
    ...         "not_assessed": [{"characteristic": "race",
    ...                           "reason": "column 'eth' is not in the test data"}]}
    >>> spec = {"equality": {"not_relevant": {"pregnancy_and_maternity": "Adults over 70 only."}}}
    >>> {s["id"]: s["state"] for s in equality_states(fair, spec)}["pregnancy_and_maternity"]
    'not relevant'
    >>> [s["reason"] for s in equality_states(fair, spec) if s["id"] == "race"]
    ["column 'eth' is not in the test data"]
    """
    assessed = {
        str(t.get("characteristic"))
        for t in fairness.get("characteristics") or []
        if t.get("kind", "single") == "single"
    }
    why = {
        str(n["characteristic"]): str(n.get("reason") or "")
        for n in fairness.get("not_assessed") or []
    }
    not_relevant = _not_relevant(spec)
    protected = spec.get("protected") or {}
    out = []
    for char, name in CHARACTERISTIC_NAMES.items():
        if char in assessed:
            state, reason = "assessed", ""
        elif char in not_relevant:
            state, reason = "not relevant", not_relevant[char]
        else:
            state = "not available"
            reason = why.get(char) or ""
            if char in protected and (not reason or reason.startswith("not named")):
                reason = f"column {protected[char]!r} named under 'protected' is not in the data"
            elif not reason or reason.startswith("not named"):
                reason = (
                    "the data holds no column for it (none is named under 'protected' in "
                    "civicml.yaml), so outcomes by it could not be measured"
                )
        out.append({"id": char, "name": name, "state": state, "reason": reason})
    return out


def eqia_context(bundle: Any) -> dict[str, Any]:
    """Everything the EqIA templates show, read from a verified bundle."""
    from civicml.report._atrs_schema import NEEDS_HUMAN

    if not bundle.has("assessment.json"):
        raise BundleError.build(
            f"Bundle {str(bundle.path)!r} has no assessment.json",
            fix="Rerun 'civicml run' with this version of civicml, which assesses the model",
        )
    info = bundle.info
    spec = bundle.read_json("spec.json") if bundle.has("spec.json") else {}
    fair = bundle.read_json("assessment.json").get("fairness") or {}
    cols = spec.get("columns") or {}
    describe = {str(k): str(v) for k, v in (cols.get("describe") or {}).items()}
    tables = [t for t in fair.get("characteristics") or [] if t.get("kind", "single") == "single"]
    states = equality_states(fair, spec)
    by_char = {str(t.get("characteristic")): _table(t, describe) for t in tables}
    for s in states:
        s["table"] = by_char.get(s["id"])
    mitigations = {
        str(k): str(v) for k, v in ((spec.get("equality") or {}).get("mitigations") or {}).items()
    }
    justification = {str(k): str(v) for k, v in (cols.get("justification") or {}).items()}
    protected = spec.get("protected") or {}
    features = set(info.get("features") or [])
    flagged = [
        {
            "characteristic": s["name"],
            "gap": g,
            "mitigation": mitigations.get(s["id"]) or NEEDS_HUMAN,
        }
        for s in states
        if s["table"]
        for g in s["table"]["flagged"]
    ]
    direct = [
        {
            "characteristic": CHARACTERISTIC_NAMES.get(char, char),
            "column": col,
            "justification": justification.get(col) or NEEDS_HUMAN,
        }
        for char, col in protected.items()
        if col in features
    ]
    counts = {
        k: sum(s["state"] == k for s in states)
        for k in ("assessed", "not available", "not relevant")
    }
    return {
        "info": info,
        "spec": spec,
        "name": spec.get("name") or info.get("name") or "model",
        "states": states,
        "counts": counts,
        "intersections": [
            _table(t, describe)
            for t in fair.get("characteristics") or []
            if t.get("kind") == "intersection"
        ],
        "thresholds": fair.get("thresholds") or {},
        "proxies": [
            p for p in bundle.read_json("assessment.json").get("proxies") or [] if p.get("flagged")
        ],
        "flagged": flagged,
        "direct": direct,
        "other_mitigations": {
            k: v for k, v in mitigations.items() if k not in CHARACTERISTIC_NAMES
        },
        "marker": NEEDS_HUMAN,
        "digest": bundle.digest,
    }


def _markdown_env() -> Any:
    from jinja2 import Environment, PackageLoader

    env = Environment(
        loader=PackageLoader("civicml.report", "templates"),
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["cell"] = lambda v: " ".join(str(v).split()).replace("|", "\\|")
    _shared_filters(env)
    return env


def _shared_filters(env: Any) -> None:
    def measure(row: dict[str, Any], m: dict[str, Any]) -> str:
        v = row.get(m["key"])
        if v is None:
            return "–"
        text = f"{v:.0%}" if m["rate"] else f"{v:.3g}"
        ci = row.get(m["key"] + "_ci") or [None, None]
        if ci[0] is not None and ci[1] is not None:
            text += (
                f" ({ci[0]:.0%} to {ci[1]:.0%})" if m["rate"] else f" ({ci[0]:.3g} to {ci[1]:.3g})"
            )
        return text

    env.filters["measure"] = measure
    env.filters["gap"] = _points


def _points(v: float | None) -> str:
    """A gap between two rates in percentage points.

    >>> _points(0.012), _points(0.16), _points(None)
    ('1 percentage point', '16 percentage points', '–')
    """
    if v is None:
        return "–"
    n = f"{v * 100:.0f}"
    return f"{n} percentage point" + ("" if n == "1" else "s")


def write_eqia(bundle_dir: str | Path, out_dir: str | Path) -> EqIAPaths:
    """Write ``eqia.html`` and ``eqia.md`` for a bundle into ``out_dir`` (created if needed).

    The HTML page is self-contained (inline styles, no scripts, no network) and uses the
    GOV.UK look of the other civicml reports.

    Raises
    ------
    BundleError
        The bundle has no ``assessment.json``.
    SpecError
        ``equality.not_relevant`` names an unknown characteristic or gives no reason.
    """
    from civicml.bundle import verify_bundle
    from civicml.report._page import page_context, report_env

    bundle = verify_bundle(bundle_dir)
    ctx = eqia_context(bundle)
    out = create_private_dir(out_dir)
    env = report_env()
    _shared_filters(env)
    html = write_private_text(
        out / "eqia.html", env.get_template("eqia.html.j2").render(**ctx, **page_context())
    )
    text = _markdown_env().get_template("eqia.md.j2").render(**ctx, **page_context())
    text = re.sub(r"\n{3,}", "\n\n", re.sub(r"\n(#{1,6} )", r"\n\n\1", text))
    md = write_private_text(out / "eqia.md", text)
    return EqIAPaths(html, md)
