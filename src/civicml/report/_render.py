"""Write the stakeholder reports for a bundle: HTML, PDF, model card and ATRS record."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from civicml._errors import BundleError
from civicml._files import create_private_dir, make_private, write_private_bytes, write_private_text
from civicml.report._page import page_context, report_env, wrap_tables

if TYPE_CHECKING:
    from civicml.report._atrs_schema import ATRSRecord

__all__ = ["CHROMIUM_PATHS", "ReportPaths", "render_pdf", "wrap_tables", "write_report"]

CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
    "--no-pdf-header-footer",
)


@dataclass(frozen=True)
class ReportPaths:
    """Where :func:`write_report` put each file; ``pdf`` is None when no PDF engine ran."""

    html: Path
    model_card: Path
    atrs_json: Path
    atrs_html: Path
    pdf: Path | None = None
    pdf_note: str = ""


def _read(bundle: Any, name: str, default: Any) -> Any:
    return bundle.read_json(name) if bundle.has(name) else default


def _context(bundle: Any, registry_info: dict[str, Any] | None) -> dict[str, Any]:
    from civicml.report._summary import (
        not_assessed_rows,
        plain_summary,
        quality_lines,
        risks,
        selection_lines,
    )

    if not bundle.has("assessment.json"):
        raise BundleError.build(
            f"Bundle {str(bundle.path)!r} has no assessment.json",
            fix="Rerun 'civicml run' with this version of civicml, which assesses the model",
        )
    info = bundle.info
    a = bundle.read_json("assessment.json")
    checks = _read(bundle, "checks.json", {}).get("checks", [])
    spec = _read(bundle, "spec.json", {})
    findings = _read(bundle, "personal_data.json", {}).get("findings", [])
    contract = _read(bundle, "contract.json", {})
    lineage = _read(bundle, "lineage.json", {})
    board = _read(bundle, "leaderboard.json", {})
    metrics = _read(bundle, "metrics.json", {})
    columns = sorted(
        contract.get("columns", []), key=lambda c: (c.get("role") != "target", c.get("name"))
    )
    quality = [
        f"'{c['name']}' is {c['null_share']:.0%} missing" for c in columns if c.get("null_share")
    ] + [
        f"'{c['name']}' has a single value; it cannot help the model"
        for c in columns
        if c.get("n_unique") == 1
    ]
    entries = []
    for e in board.get("entries", []):
        m = e.get("cv_mean", {}).get(info.get("metric"))
        sd = e.get("cv_std", {}).get(info.get("metric")) or 0.0
        entries.append(
            {
                **e,
                "lo": None if m is None else m - 1.96 * sd,
                "hi": None if m is None else m + 1.96 * sd,
            }
        )
    owner = spec.get("owner") or {}
    fair = a.get("fairness", {})
    selection_doc = _read(bundle, "selection.json", {})
    selection = selection_doc.get("selection") or {}
    unsupervised = ""
    is_unsupervised = info.get("task") in ("clustering", "anomaly")
    if is_unsupervised:
        from civicml.assess import unsupervised_html
        from civicml.monitor import monitoring_plan

        outputs = _read(bundle, "monitoring.json", {}).get("outputs")
        unsupervised = unsupervised_html(a, plan=monitoring_plan(info, outputs))
    # unsupervised fairness is its own section (cluster composition, flag rates)
    singles = [] if is_unsupervised else fair.get("characteristics", [])
    return {
        "unsupervised_html": unsupervised,
        "info": info,
        "assessment": a,
        "checks": checks,
        "spec": spec,
        "findings": findings,
        "dpia": _read(bundle, "dpia_screen.json", {}),
        "minimisation": _minimisation(bundle),
        "reduced": _reduced(bundle),
        "columns": columns,
        "quality": quality_lines(checks, quality, spec),
        "lineage": lineage,
        "leaderboard": entries,
        "threshold": metrics.get("threshold"),
        "confusion": a.get("confusion", {}),
        "summary": plain_summary(info, a, spec),
        "risks": risks(info, a, checks, findings, spec),
        "fairness_tables": [t for t in singles if t["kind"] == "single"],
        "intersections": [t for t in singles if t["kind"] == "intersection"],
        "not_assessed": not_assessed_rows(info, a),
        "selection_lines": selection_lines(info, board, selection_doc),
        "selection_doc": selection_doc,
        **_words(info, a, spec),
        "fth": fair.get("thresholds", {"min_group_size": 30, "max_difference": 0.1}),
        "proxies": [p for p in a.get("proxies", []) if p["strength"] >= 0.05][:15],
        "cv_folds": spec.get("cv_folds", 5),
        "owner_text": ", ".join(str(v) for v in owner.values() if v) or "not stated",
        "digest": bundle.digest,
        "registry_info": registry_info or {},
        # selection.json travels with the leaderboard so every ATRS builder sees the rationale
        "board_raw": {**board, "selection_json": selection_doc},
        "contract": contract,
        "energy": energy_context(lineage.get("energy"), board),
        "traded": (selection.get("given_up") or {}).get("text"),
        "sample": sample_line(lineage),
    }


def sample_line(lineage: dict[str, Any]) -> str | None:
    """One sentence when the model was trained on a sample of a table too large for memory
    (a ``sample`` step in the lineage), else ``None``.

    >>> step = {"kind": "sample", "rows_in": 30_000_000, "rows_out": 200_000,
    ...         "note": "class-stratified reservoir sample by DuckDB, seed 0"}
    >>> sample_line({"data": {"steps": [step]}})
    'The search and the final model used a sample of 200,000 of the 30,000,000 rows (class-stratified reservoir sample by DuckDB, seed 0); the data contract was learned from every row.'
    >>> sample_line({"data": {"steps": []}}) is None
    True
    """
    steps = (lineage.get("data") or {}).get("steps") or []
    step = next((s for s in steps if isinstance(s, dict) and s.get("kind") == "sample"), None)
    if step is None:
        return None
    note = str(step.get("note") or "").split(";")[0]
    return (
        f"The search and the final model used a sample of {int(step.get('rows_out') or 0):,} of "
        f"the {int(step.get('rows_in') or 0):,} rows ({note}); the data contract was learned "
        "from every row."
    )


def _words(
    info: dict[str, Any], assessment: dict[str, Any], spec: dict[str, Any]
) -> dict[str, Any]:
    """Plain names for the templates: columns (``columns.describe``), candidates, metrics,
    fairness groups, and the glossary of the metrics the report shows."""
    from civicml.report._glossary import (
        glossary_rows,
        plain_candidate,
        plain_column,
        plain_group,
        plain_metric,
    )

    describe = dict((spec.get("columns") or {}).get("describe") or {})
    cols = [*(info.get("features") or []), *((spec.get("protected") or {}).values())]
    used = [*assessment.get("metrics", {}), str(info.get("metric")), "selection_rate", "fpr", "fnr"]
    return {
        "describe": describe,
        "glossary": glossary_rows(used),
        "col_name": lambda c: plain_column(c, describe),
        "cand_name": plain_candidate,
        "metric_name": plain_metric,
        "group_name": lambda g: plain_group(g, cols, describe),
    }


def energy_context(energy: dict[str, Any] | None, board: dict[str, Any]) -> dict[str, Any] | None:
    """The figures and sentences the report and model card show about energy and carbon.

    Examples
    --------
    >>> e = {"energy_kwh": 0.004, "emissions_g": 0.95, "method": "RAPL",
    ...      "carbon_intensity_g_per_kwh": 237.6, "duration_s": 60,
    ...      "predict": {"wh_per_1000": 0.002}}
    >>> ctx = energy_context(e, {"entries": []})
    >>> ctx["sentence"]
    'Training used about 0.004 kWh, roughly 0.95 g CO₂e — less than charging a smartphone once.'
    >>> energy_context(None, {}) is None
    True
    """
    from civicml.energy import predict_sentence, training_sentence

    if not energy:
        return None
    predict = energy.get("predict") or {}
    rows = [
        {
            "name": e.get("name"),
            "fit_wh": (e.get("extra") or {}).get("fit_energy_wh"),
            "predict_wh": (e.get("extra") or {}).get("predict_energy_wh_per_1000"),
        }
        for e in board.get("entries", [])
        if (e.get("extra") or {}).get("fit_energy_wh") is not None
    ]
    return {
        **energy,
        "sentence": training_sentence(energy)
        or f"Training energy was not measured: {energy.get('reason') or 'unavailable'}.",
        "predict_sentence": predict_sentence(
            predict.get("wh_per_1000"), energy.get("carbon_intensity_g_per_kwh")
        ),
        "predict": predict,
        "candidates": rows,
    }


def _plots(ctx: dict[str, Any]) -> dict[str, Any]:
    import civicml.report._plots as P

    a = ctx["assessment"]
    m = a.get("metrics", {})
    out: dict[str, Any] = {}
    curves = a.get("curves", {})
    if curves.get("roc"):
        out["roc"] = P.roc_svg(curves["roc"], (m.get("roc_auc") or {}).get("value"))
    if curves.get("pr"):
        out["pr"] = P.pr_svg(curves["pr"], (m.get("pr_auc") or {}).get("value"))
    cal = a.get("calibration", {})
    if cal.get("bins"):
        out["calibration"] = P.calibration_svg(cal["bins"], cal.get("ece"))
    if ctx["leaderboard"]:
        out["leaderboard"] = P.leaderboard_svg(ctx["leaderboard"], ctx["info"].get("metric"))
    imp = a.get("importance", {}).get("features", [])[:15]
    if imp:
        top = ", ".join(f"{r['feature']} ({r['importance']:.3f})" for r in imp[:5])
        out["importance"] = P.bar_svg(
            "importance",
            [r["feature"] for r in imp],
            [r["importance"] for r in imp],
            [P.Z95 * (r.get("std") or 0.0) for r in imp],
            title="Feature importance",
            xlabel=f"Drop in {a['importance'].get('scoring')} when shuffled (95% interval)",
            desc=f"The most important features are {top}.",
        )
    ylabel = (
        "Average P(" + str(ctx["info"].get("positive_label")) + ")"
        if (ctx["info"].get("task") == "binary")
        else "Average prediction"
    )
    pds = [item for item in a.get("partial_dependence", []) if item.get("grid")]
    ylim = P.shared_range([item["average"] for item in pds])  # one scale for all of them
    out["pd"] = [P.line_svg(f"pd{i}", item, ylabel=ylabel, ylim=ylim) for i, item in enumerate(pds)]
    for i, t in enumerate(ctx["fairness_tables"]):
        if t["groups"] and "selection_rate" in t["groups"][0]:
            t["svg"] = P.fairness_svg(f"fair{i}", t)
    return out


def render_pdf(html_path: Path, pdf_path: Path, *, timeout: float = 120) -> tuple[bool, str]:
    """Print ``html_path`` to PDF with headless Chromium, else WeasyPrint; never raises.

    Returns
    -------
    (bool, str)
        Whether a PDF was written, and which engine did it or why none could.
    """
    chromium = next((p for p in CHROMIUM_PATHS if os.path.exists(p)), None)
    chromium = chromium or shutil.which("chromium")
    if chromium:
        with tempfile.TemporaryDirectory(prefix="civicml-chromium-") as profile:
            try:
                proc = subprocess.run(
                    [
                        chromium,
                        *CHROMIUM_ARGS,
                        f"--user-data-dir={profile}",
                        f"--print-to-pdf={pdf_path}",
                        html_path.resolve().as_uri(),
                    ],
                    capture_output=True,
                    timeout=timeout,
                    check=False,
                )
                if pdf_path.exists() and pdf_path.stat().st_size > 0:
                    return True, f"printed with {chromium}"
                why = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["?"]
                note = f"Chromium did not write a PDF: {why[0]}"
            except (OSError, subprocess.SubprocessError) as exc:
                note = f"Chromium failed: {type(exc).__name__}: {exc}"
    else:
        note = "no Chromium found"
    try:
        import weasyprint
    except ImportError:
        return False, f"No PDF written: {note}, and WeasyPrint is not installed."
    try:
        weasyprint.HTML(filename=str(html_path)).write_pdf(str(pdf_path))
        return True, "printed with WeasyPrint"
    except Exception as exc:
        return False, f"No PDF written: {note}; WeasyPrint failed: {exc}"


def _minimisation(bundle: Any) -> list[dict[str, Any]]:
    """The data-minimisation findings for the report (none when they cannot be read)."""
    from civicml.report._minimisation import minimisation_findings

    try:
        return [f.to_dict() for f in minimisation_findings(bundle)]
    except (BundleError, KeyError, TypeError, ValueError):
        return []


def _reduced(bundle: Any) -> dict[str, Any] | None:
    """The smaller feature set and its measured cost (None when the bundle has no record)."""
    from civicml.report._minimisation import reduced_view

    try:
        return reduced_view(bundle)
    except (BundleError, KeyError, TypeError, ValueError):
        return None


def data_links(out: Path) -> list[dict[str, str]]:
    """Each source's profile and dataset card that ``civicml run`` wrote beside the report
    (``data/<source>/``), as links relative to the report; only the files that exist.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); (d / "data" / "claims 1").mkdir(parents=True)
    >>> _ = (d / "data" / "claims 1" / "profile.html").write_text("<html></html>")
    >>> data_links(d)
    [{'name': 'claims 1', 'profile': 'data/claims%201/profile.html'}]
    """
    from urllib.parse import quote

    base = out / "data"
    if not base.is_dir():
        return []
    files = (
        ("profile", "profile.html"),
        ("card", "dataset_card.md"),
        ("card_json", "dataset_card.json"),
    )
    rows: list[dict[str, str]] = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir() and not p.is_symlink()):
        found = {k: f"data/{quote(folder.name)}/{f}" for k, f in files if (folder / f).is_file()}
        if found:
            rows.append({"name": folder.name, **found})
    return rows


def write_report(
    bundle_dir: str | Path,
    out_dir: str | Path,
    *,
    pdf: bool = True,
    registry_info: dict[str, Any] | None = None,
    approval: dict[str, Any] | None = None,
    fill_atrs: Callable[[ATRSRecord], ATRSRecord] | None = None,
) -> ReportPaths:
    """Write report.html, report.pdf, model_card.md, atrs.json and atrs.html for a bundle.

    Parameters
    ----------
    bundle_dir : path
        A bundle holding ``assessment.json`` (and ideally ``checks.json``) besides the usual
        files; it is verified on load.
    out_dir : path
        Created if needed; existing report files are replaced.
    pdf : bool
        Also print the report to PDF (Chromium, else WeasyPrint). A missing engine is
        recorded in ``ReportPaths.pdf_note``, never an error.
    registry_info : dict, optional
        Registry facts (name, version, stage, approvals) shown in the report and the ATRS record.
    approval : dict, optional
        The version's approval record (``civicml.registry.approval_record``: who registered,
        requested and approved it, and whether a server verified each of them), shown in the
        report's, model card's and ATRS record's "Approval" part. Without it they say "Not yet
        approved in a registry." (what ``civicml run`` writes, before any approval).
    fill_atrs : callable, optional
        Puts a person's stored answers into the generated ATRS record before it is written
        (the dashboard passes the registry's answers), so the record is built once.

    Returns
    -------
    ReportPaths
    """
    from civicml.bundle import load_bundle
    from civicml.report._approval_view import approval_view
    from civicml.report._atrs import build_atrs
    from civicml.report._atrs_fill import record_approval
    from civicml.report._model_card import model_card

    bundle = load_bundle(bundle_dir)
    out = create_private_dir(out_dir)
    ctx = _context(bundle, registry_info)
    ctx["approval"] = approval
    ctx["approval_view"] = approval_view(approval)
    ctx["data_links"] = data_links(out)
    ctx["plots"] = _plots(ctx)
    env = report_env()
    common = page_context()
    html_path = write_private_text(
        out / "report.html", env.get_template("report.html.j2").render(**ctx, **common)
    )
    card = write_private_text(out / "model_card.md", model_card(ctx))
    if not str(ctx["info"].get("task", "")).startswith(("clustering", "anomaly")):
        from civicml.report._eqia import write_eqia

        write_eqia(bundle_dir, out)  # eqia.html and eqia.md beside the report

    record = build_atrs(
        {**ctx, "leaderboard": ctx["board_raw"]}, digest=bundle.digest, registry_info=registry_info
    )
    record = record_approval(record, approval)
    if fill_atrs is not None:
        record = fill_atrs(record)
    atrs_json, atrs_html = write_atrs(out, record, {**common, "digest": bundle.digest})
    return ReportPaths(html_path, card, atrs_json, atrs_html, *print_pdf(html_path, pdf))


def write_atrs(out: Path, record: Any, common: dict[str, Any]) -> tuple[Path, Path]:
    """Write an ATRS record as ``atrs.json`` and ``atrs.html`` under ``out``; return both paths."""
    from civicml.bundle import dumps_json
    from civicml.report._approval_view import approval_view
    from civicml.report._atrs_schema import NEEDS_HUMAN

    doc = record.to_json_dict()
    atrs_json = write_private_bytes(out / "atrs.json", dumps_json(doc))
    atrs_html = write_private_text(
        out / "atrs.html",
        report_env()
        .get_template("atrs.html.j2")
        .render(
            record=json.loads(json.dumps(doc)),
            needs_human=doc["_civicml"]["needs_human"],
            marker=NEEDS_HUMAN,
            approval_view=approval_view(doc["_civicml"].get("approval")),
            **common,
        ),
    )
    return atrs_json, atrs_html


def print_pdf(html_path: Path, pdf: bool) -> tuple[Path | None, str]:
    """``report.pdf`` beside ``html_path`` when asked and an engine is found; the note says why not."""
    if not pdf:
        return None, "PDF not requested."
    target = html_path.with_name("report.pdf")
    ok, note = render_pdf(html_path, target)
    if ok:
        make_private(target)
    return (target if ok else None), note
