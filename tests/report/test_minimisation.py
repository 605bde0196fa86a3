"""The data-minimisation list: purposes, identifiers, constant columns and unused inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from .conftest import _frame

FEATURES = ["tenure", "region", "sex", "married", "noise", "client_email"]


@pytest.fixture(scope="module")
def mini_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real model that reads tenure, region, sex and married, and ignores noise and
    client_email (the column transformer drops them), with its permutation importance."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from civicml.assess import global_importance
    from civicml.bundle import save_bundle

    rng = np.random.default_rng(1)
    df = _frame(300, seed=1)
    df["married"] = rng.choice(["yes", "no"], len(df))
    df["noise"] = rng.normal(size=len(df))
    df["client_email"] = [f"person{i}@example.com" for i in range(len(df))]
    cat = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    prep = ColumnTransformer(
        [("num", StandardScaler(), ["tenure"]), ("cat", cat, ["region", "sex", "married"])],
        remainder="drop",
    )
    model = Pipeline([("prep", prep), ("model", LogisticRegression(max_iter=300))])
    model.fit(df[FEATURES], df["ui"])
    importance = global_importance(
        model,
        df,
        df["ui"],
        features=FEATURES,
        task="binary",
        classes=["no", "yes"],
        n_repeats=2,
        max_rows=200,
    )
    spec = {
        "name": "minimise-me",
        "target": "ui",
        "protected": {"sex": "sex", "marriage_and_civil_partnership": "married"},
        "columns": {
            "id": ["case_id"],
            "drop": ["notes"],
            "purpose": {
                "tenure": "Longer claims mean more need.",
                "region": "Services differ by region.",
                "married": "Household income rules depend on it.",
            },
        },
    }
    cols = [
        {"name": c, "role": "numeric" if c in ("tenure", "noise") else "categorical", "n_unique": 5}
        for c in FEATURES
    ] + [{"name": "office", "role": "categorical", "n_unique": 1}]  # an older, undropped one
    quality = {
        "name": "data_quality",
        "passed": False,
        "evidence": "1 data finding(s) need a person's review",
        "details": [
            "'bluecol' has a single value; it cannot help the model and is not used as an input",
            "'tenure' is 3% missing",
        ],
    }
    dest = tmp_path_factory.mktemp("minimise") / "bundle"
    save_bundle(
        dest,
        model=model,
        documents={
            "model_info.json": {
                "name": "minimise-me",
                "task": "binary",
                "target": "ui",
                "features": FEATURES,
                "id_columns": ["case_id"],
                "special_category": {},
            },
            "spec.json": spec,
            "contract.json": {
                "columns": cols,
                "target": "ui",
                "dropped": ["notes", "case_id", "bluecol"],
            },
            "personal_data.json": {
                "findings": [
                    {"column": "client_email", "kind": "email", "label": "email addresses"},
                    {"column": "notes", "kind": "phone", "label": "UK phone numbers"},
                ]
            },
            "checks.json": {"checks": [quality], "passed": False},
            "assessment.json": {"importance": importance},
        },
    )
    return dest


def test_each_kind_is_found_and_nothing_else(mini_bundle: Path) -> None:
    from civicml.report import MINIMISATION_KINDS, minimisation_findings

    found = minimisation_findings(mini_bundle)
    assert sorted((f.column, f.kind) for f in found) == sorted(
        [
            ("client_email", "identifier"),
            ("client_email", "no_purpose"),
            ("client_email", "unused"),
            ("noise", "no_purpose"),
            ("noise", "unused"),
            ("sex", "no_purpose"),
            ("married", "sensitive_input"),
            ("bluecol", "constant"),
            ("office", "constant"),
        ]
    )
    # most serious kind first; dropped ids and declared drops are not "constant"
    assert [f.kind for f in found] == sorted((f.kind for f in found), key=MINIMISATION_KINDS.index)
    assert not {"case_id", "notes", "tenure", "region"} & {f.column for f in found}


def test_sentences_are_plain_and_name_the_reason(mini_bundle: Path) -> None:
    from civicml.report import minimisation_findings

    by = {(f.column, f.kind): f.sentence for f in minimisation_findings(mini_bundle)}
    assert all(s.endswith(".") and "None" not in s for s in by.values())
    assert "protected characteristic sex" in by["sex", "no_purpose"]
    assert "purpose is required" in by["sex", "no_purpose"]
    assert "Household income rules depend on it." in by["married", "sensitive_input"]
    assert "email addresses" in by["client_email", "identifier"]
    assert "roc_auc" in by["noise", "unused"]
    assert "single value" in by["bluecol", "constant"]
    assert by["noise", "unused"].count("'noise'") == 1


def test_an_input_the_model_uses_is_not_called_unused(mini_bundle: Path) -> None:
    from civicml.bundle import verify_bundle

    imp = verify_bundle(mini_bundle).read_json("assessment.json")["importance"]
    by = {r["feature"]: r["importance"] for r in imp["features"]}
    assert by["tenure"] > 0 and by["noise"] == 0.0  # the fixture measures what it claims


def test_findings_serialise(mini_bundle: Path) -> None:
    import json

    from civicml.bundle import verify_bundle
    from civicml.report import minimisation_findings

    found = minimisation_findings(verify_bundle(mini_bundle))  # a loaded bundle works too
    doc = json.loads(json.dumps([f.to_dict() for f in found]))
    assert set(doc[0]) == {"column", "kind", "sentence"}


# --- the smaller feature set, measured (minimisation.json) -----------------------------------

REDUCED = {
    "rule": "model inputs minus direct identifiers, constant columns and unused inputs",
    "metric": "roc_auc",
    "features": ["tenure", "age", "region"],
    "kept": ["tenure", "region"],
    "dropped": [{"column": "age", "kinds": ["unused"], "reason": "the model does not use it"}],
    "not_model_inputs": [{"column": "bluecol", "kinds": ["constant"], "reason": "one value"}],
    "refit": True,
    "seconds": 2.25,
    "folds": [
        {"fold": 1, "full": 0.71, "reduced": 0.70, "cost": 0.01},
        {"fold": 2, "full": 0.69, "reduced": 0.695, "cost": -0.005},
        {"fold": 3, "full": 0.70, "reduced": 0.70, "cost": 0.0},
    ],
    "cost": 0.00167,
    "low": -0.02,
    "high": 0.023,
    "p_value": 0.41,
    "verdict": "Dropping 1 column (age) costs 0.002 ROC AUC, within noise (cost 95% interval "
    "-0.020 to 0.023, corrected t-test p = 0.410, 3 folds).",
}


def _with_documents(src: Path, dest: Path, extra: dict) -> Path:
    """A copy of the bundle at ``src`` with more documents (re-hashed by save_bundle)."""
    from civicml.bundle import load_bundle, save_bundle

    b = load_bundle(src)
    own = {"manifest.json", "sbom.cdx.json"}  # written by save_bundle itself
    docs = {n: b.read_json(n) for n in b.files if n.endswith(".json") and n not in own}
    save_bundle(dest, model=b.model, documents={**docs, **extra})
    return dest


def test_reduced_view_reads_the_record_and_adds_the_mean_row(mini_bundle: Path) -> None:
    from civicml.report._minimisation import reduced_view

    assert reduced_view(mini_bundle) is None  # an older bundle: nothing measured, nothing shown

    class B:
        def has(self, n):
            return n == "minimisation.json"

        def read_json(self, n):
            return REDUCED

    v = reduced_view(B())
    assert v is not None and v["verdict"] == REDUCED["verdict"]
    assert v["mean"]["full"] == pytest.approx(0.7)
    assert v["mean"]["cost"] == pytest.approx(0.005 / 3)
    assert v["dropped_lines"] == ["'age': the model does not use it"]
    assert v["not_input_lines"] == ["'bluecol': one value (already not a model input)"]


def test_a_malformed_record_is_not_shown() -> None:
    from civicml.report._minimisation import reduced_view

    class B:
        def __init__(self, doc):
            self.doc = doc

        def has(self, n):
            return True

        def read_json(self, n):
            return self.doc

    assert reduced_view(B(["not", "a", "dict"])) is None
    assert reduced_view(B({"refit": True})) is None  # no verdict: nothing honest to say


@pytest.fixture(scope="module")
def measured_report(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The report of a bundle with a measured smaller set, with dataset cards beside it."""
    from civicml.report import write_report

    tmp = tmp_path_factory.mktemp("measured")
    b = _with_documents(bundle_dir, tmp / "b", {"minimisation.json": REDUCED})
    out = tmp / "r"
    (out / "data" / "claims").mkdir(parents=True)
    (out / "data" / "claims" / "profile.html").write_text("<html></html>")
    (out / "data" / "claims" / "dataset_card.md").write_text("# claims")
    (out / "data" / "empty").mkdir()  # a source that could not be profiled: no link
    (out / "data" / 'a"b').mkdir()
    (out / "data" / 'a"b' / "profile.html").write_text("<html></html>")
    return write_report(b, out, pdf=False).html.read_text(encoding="utf-8")


def test_the_report_states_the_cost_with_its_p_value(measured_report: str) -> None:
    html = measured_report
    start = html.index('id="reduced"')
    section = html[start : html.index("</section>", start)]
    assert "costs 0.002 ROC AUC, within noise" in section and "p = 0.410" in section
    assert "<caption" in section and 'scope="col"' in section  # an accessible table
    rows = section.split('id="reduced-folds"')[1].split("</table>")[0]
    assert rows.count('<th scope="row">') == 4  # three folds and the mean
    assert "0.710" in rows and "0.695" in rows and "-0.005" in rows
    assert "&#39;age&#39;: the model does not use it" in section
    assert "already not a model input" in section


def test_dataset_cards_beside_the_report_are_linked(measured_report: str) -> None:
    links = measured_report[measured_report.index('id="data-cards"') :].split("</ul>")[0]
    assert 'href="data/claims/profile.html"' in links
    assert 'href="data/claims/dataset_card.md"' in links
    assert "empty" not in links
    assert 'href="data/a%22b/profile.html"' in links  # quoted: no way out of the attribute


def test_nothing_dropped_says_it_costs_nothing_and_shows_no_table(
    bundle_dir: Path, tmp_path: Path
) -> None:
    from civicml.report import write_report

    doc = {
        "metric": "roc_auc",
        "features": ["tenure"],
        "kept": ["tenure"],
        "dropped": [],
        "refit": False,
        "seconds": 0.0,
        "verdict": "No model input would be dropped, so the smaller feature set is the full "
        "set: no refit was needed and it costs nothing.",
    }
    b = _with_documents(bundle_dir, tmp_path / "b", {"minimisation.json": doc})
    html = write_report(b, tmp_path / "r", pdf=False).html.read_text(encoding="utf-8")
    assert "no refit was needed and it costs nothing" in html
    assert 'id="reduced-folds"' not in html


def test_no_dataset_cards_no_section(report_dir) -> None:
    html = report_dir.html.read_text(encoding="utf-8")
    assert 'id="data-cards-h"' not in html
