"""A dataset card in Markdown, with the ATRS data fields, filled from a data profile.

The Algorithmic Transparency Recording Standard asks, for each dataset a tool uses, for its
name, description, modality, quantities, sensitive attributes, completeness and
representativeness, source, collection, cleaning, sharing, and access and storage.
:func:`dataset_card` fills what the statistics of :func:`civicml.data.profile_data` can answer
and marks the rest :data:`NEEDS_PERSON`, the marker the ATRS record uses.

Examples
--------
>>> profile = {"source": {"name": "a.csv", "format": "csv"}, "rows": 3, "n_columns": 1,
...            "duplicate_rows": 0, "rows_with_missing": 1, "min_cell": 5,
...            "columns": [{"name": "x", "role": "numeric", "count": 2, "missing": 1,
...                         "missing_share": 1 / 3, "distinct": 2, "values_hidden": False}],
...            "personal_data": [], "special_category": [], "target": None}
>>> card = dataset_card(profile)
>>> "| Data quantities | 3 rows × 1 columns" in card, NEEDS_PERSON in card
(True, True)
>>> data = dataset_card_data(profile)
>>> data["atrs"]["data_quantities"], "data_collection" in data["needs_person"]
('3 rows × 1 columns', True)
"""

from __future__ import annotations

from typing import Any

__all__ = ["CARD_VERSION", "NEEDS_PERSON", "dataset_card", "dataset_card_data"]

#: Version of the ``dataset_card.json`` layout.
CARD_VERSION = 1

#: What a field that only a person can answer says (the ATRS record's marker).
NEEDS_PERSON = "TO BE COMPLETED BY A PERSON"


def _cell(text: Any) -> str:
    """Text for one Markdown table cell: pipes escaped, one line."""
    return " ".join(str(text).replace("|", "\\|").split())


def _pct(v: float) -> str:
    return f"{v:.1%}"


def _modality(columns: list[dict[str, Any]]) -> str:
    roles = sorted({c["role"] for c in columns})
    kind = "Text and tabular" if "text" in roles else "Tabular"
    return f"{kind} (column roles: {', '.join(roles)})"


def _sensitive(profile: dict[str, Any]) -> str:
    parts = [f"{p['column']}: {p['label']} (personal-data scan)" for p in profile["personal_data"]]
    parts += [
        f"{s['column']}: {s['label']} (special category)" for s in profile["special_category"]
    ]
    hidden = [
        c["name"]
        for c in profile["columns"]
        if c["values_hidden"] and c["name"] not in {p["column"] for p in profile["personal_data"]}
    ]
    if hidden:
        parts.append(f"values not shown (free text or identifiers): {', '.join(hidden)}")
    if not parts:
        return "None found by civicml's scans. " + NEEDS_PERSON + ": confirm."
    return "; ".join(parts) + ". " + NEEDS_PERSON + ": confirm and add any the scans cannot see."


def _completeness(profile: dict[str, Any]) -> str:
    rows = profile["rows"] or 1
    gaps = sorted(
        (c for c in profile["columns"] if c["missing"]), key=lambda c: -c["missing_share"]
    )
    shown = ", ".join(f"{c['name']} {_pct(c['missing_share'])}" for c in gaps[:8]) or "none"
    return (
        f"{_pct(profile['rows_with_missing'] / rows)} of rows have a missing value; missing by "
        f"column: {shown}. {profile['duplicate_rows']:,} duplicate rows. Representativeness: "
        f"{NEEDS_PERSON} (compare group counts below with the population served)."
    )


def _fields(profile: dict[str, Any]) -> list[tuple[str, str]]:
    src = profile["source"]
    quantities = f"{profile['rows']:,} rows × {profile['n_columns']} columns"
    if src.get("bytes") is not None:
        quantities += f"; {src['bytes']:,} bytes ({src['format']})"
    if src.get("sha256"):
        quantities += f"; sha256 {src['sha256']}"
    return [
        ("Source data name", src["name"]),
        ("Data description", NEEDS_PERSON),
        ("Data modality", _modality(profile["columns"])),
        ("Data quantities", quantities),
        ("Sensitive attributes", _sensitive(profile)),
        ("Data completeness and representativeness", _completeness(profile)),
        ("Source data URL and licence", NEEDS_PERSON),
        ("Data collection", NEEDS_PERSON),
        (
            "Data cleaning",
            NEEDS_PERSON + " (civicml's ETL log lists steps when `sources:` is used)",
        ),
        ("Data sharing agreements", NEEDS_PERSON),
        ("Data access and storage", NEEDS_PERSON),
    ]


def _summary(c: dict[str, Any]) -> str:
    """One line on a column's values: categories, range or dates (never a withheld value)."""
    summary = ""
    if c.get("values_hidden"):
        summary = f"values not shown: {c.get('hidden_reason', '')}"
        if c.get("length"):
            ln = c["length"]
            summary += f"; length {ln['min']}–{ln['max']} (mean {ln['mean']:.1f})"
    elif c.get("categories"):
        cats = c["categories"]
        top = ", ".join(f"{t['value']} {_pct(t['share'])}" for t in cats["top"][:5])
        summary = top + (f", other {_pct(cats['other_share'])}" if cats["other_count"] else "")
    elif c.get("numeric"):
        n = c["numeric"]
        if n.get("min") is not None:
            summary = f"range {n['min']:.4g} to {n['max']:.4g}, mean {n['mean']:.4g}"
    elif c.get("date"):
        summary = f"{c['date']['min']} to {c['date']['max']}"
    return summary


def _column_line(c: dict[str, Any]) -> str:
    summary = _summary(c)
    return (
        f"| {_cell(c['name'])} | {c['role']} | {_pct(c['missing_share'])} | {c['distinct']:,} "
        f"| {_cell(summary)} |"
    )


def _groups(profile: dict[str, Any]) -> list[str]:
    if "representation" in profile:
        return _representation(profile)
    special = {s["column"]: s["label"] for s in profile["special_category"]}
    lines: list[str] = [""]
    for c in profile["columns"]:
        if c["name"] in special and c.get("categories"):
            lines.append(
                f"- **{_cell(c['name'])}** ({special[c['name']]}): "
                + ", ".join(
                    f"{_cell(t['value'])} {t['count']:,} ({_pct(t['share'])})"
                    for t in c["categories"]["top"]
                )
            )
    return lines if len(lines) > 1 else []


def _representation(profile: dict[str, Any]) -> list[str]:
    """Group counts by protected characteristic, beside the reference shares when given."""
    lines: list[str] = []
    for r in profile["representation"]:
        head = f"**{_cell(r['column'])}** ({_cell(r['characteristic'])})"
        if not r["groups"]:
            lines += ["", f"{head}: {_cell(r.get('note', 'not shown'))}."]
            continue
        lines += [
            "",
            head,
            "",
            "| Group | Rows | Share | Reference share | Difference |",
            "|---|---|---|---|---|",
        ]
        for g in r["groups"]:
            ref, diff = g.get("reference"), g.get("difference")
            lines.append(
                f"| {_cell(g['value'])} | {g['count']:,} | {_pct(g['share'])} | "
                f"{'–' if ref is None else _pct(ref)} | "
                f"{'–' if diff is None else f'{100 * diff:+.1f} points'} |"
            )
        for x in r.get("reference_not_shown", []):
            lines.append(
                f"| {_cell(x['value'])} | {_cell(x['why'])} | – | {_pct(x['reference'])} | – |"
            )
    return lines


def _relations(profile: dict[str, Any]) -> list[str]:
    """The full mode's findings in a few lines: patterns, strongest pairs, outliers."""
    lines: list[str] = []
    mp = profile.get("missing_patterns")
    if mp and mp["patterns"]:
        top = [p for p in mp["patterns"] if p["missing"]][:3]
        if top:
            lines.append(
                "- Most common gaps together: "
                + "; ".join(f"{', '.join(p['missing'])} ({_pct(p['share'])})" for p in top)
            )
    cor = [p for p in (profile.get("correlations") or {}).get("pairs", []) if p["spearman"]]
    strong = [p for p in cor if abs(p["spearman"]) >= 0.7][:5]
    if strong:
        lines.append(
            "- Strongly correlated numeric pairs (|Spearman| ≥ 0.7): "
            + "; ".join(f"{p['a']} and {p['b']} {p['spearman']:.2f}" for p in strong)
        )
    assoc = (profile.get("associations") or {}).get("cramers_v", [])
    strong = [p for p in assoc if (p["value"] or 0) >= 0.5][:5]
    if strong:
        lines.append(
            "- Strongly associated categorical pairs (Cramér's V ≥ 0.5): "
            + "; ".join(f"{p['a']} and {p['b']} {p['value']:.2f}" for p in strong)
        )
    outliers = [
        (c["name"], c["numeric"]["outliers"])
        for c in profile["columns"]
        if (c.get("numeric") or {}).get("outliers", {}).get("count")
    ]
    if outliers:
        lines.append(
            "- Outliers outside 1.5 × IQR (|z| > 4): "
            + ", ".join(f"{n} {o['count']:,} ({o.get('z_count', 0):,})" for n, o in outliers[:8])
        )
    return [" ".join(x.split()) for x in lines]  # a name with a line break stays one line


def dataset_card(profile: dict[str, Any], *, title: str | None = None) -> str:
    """The dataset card (Markdown) for a profile from :func:`civicml.data.profile_data`."""
    name = title or profile["source"]["name"]
    out = [
        f"# Dataset card: {_cell(name)}",
        "",
        "Written by civicml from the data's statistics (`profile.json`; charts in "
        "`profile.html`). Fields marked " + NEEDS_PERSON + " need a person who knows the data.",
        "",
        "## ATRS data fields",
        "",
        "| Field | Answer |",
        "|---|---|",
    ]
    out += [f"| {k} | {_cell(v)} |" for k, v in _fields(profile)]
    out += [
        "",
        "## Columns",
        "",
        f"Categories seen in fewer than {profile['min_cell']} rows are not named.",
        "",
        "| Column | Role | Missing | Distinct | Summary |",
        "|---|---|---|---|---|",
    ]
    out += [_column_line(c) for c in profile["columns"]]
    found = _relations(profile)
    if found:
        out += ["", "## Findings from the exploratory analysis", "", *found]
    groups = _groups(profile)
    if groups:
        out += ["", "## Group representation", *groups]
        given = any(
            g.get("reference") is not None
            for r in profile.get("representation", [])
            for g in r["groups"]
        )
        if not given:
            out += ["", f"Reference shares of the population served: {NEEDS_PERSON}."]
    target = profile.get("target")
    if target:
        out += [
            "",
            "## Target",
            "",
            f"`{_cell(target['column'])}` ({target['kind']}); the "
            "target against each feature is in `profile.json` and `profile.html`.",
        ]
    return "\n".join(out) + "\n"


def _snake(label: str) -> str:
    return "_".join(label.lower().replace(",", "").split())


def dataset_card_data(profile: dict[str, Any], *, title: str | None = None) -> dict[str, Any]:
    """The dataset card as JSON-ready data (``dataset_card.json``): the ATRS data fields by
    their snake-case names, the fields only a person can answer, the per-column summary, the
    exploratory analysis's findings and the group representation.

    It holds only what :func:`dataset_card` shows, so it shows no withheld value either.
    """
    fields = {_snake(k): v for k, v in _fields(profile)}
    return {
        "card_version": CARD_VERSION,
        "name": title or profile["source"]["name"],
        "source": profile["source"],
        "atrs": fields,
        "needs_person": [k for k, v in fields.items() if NEEDS_PERSON in v],
        "rows": profile["rows"],
        "n_columns": profile["n_columns"],
        "duplicate_rows": profile["duplicate_rows"],
        "rows_with_missing": profile["rows_with_missing"],
        "min_cell": profile["min_cell"],
        "columns": [
            {
                "name": c["name"],
                "role": c["role"],
                "missing_share": c["missing_share"],
                "distinct": c["distinct"],
                "summary": _summary(c),
            }
            for c in profile["columns"]
        ],
        "findings": [x.removeprefix("- ") for x in _relations(profile)],
        "representation": profile.get("representation", []),
        "target": (profile.get("target") or {}).get("column"),
        "profile_mode": profile.get("mode", "full"),
    }
