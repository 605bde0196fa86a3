"""The profile's full mode against pandas: missingness patterns, Pearson and Spearman,
Cramér's V, the correlation ratio, outliers by IQR and |z|, group representation against
reference shares; minimal mode skips the extra scans; nothing hidden takes part."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from civicml._errors import DataError
from civicml.data import _profile as profile_module
from civicml.data import dataset_card, profile_data
from civicml.data._profile_relations import cramers_v

N = 600
ODD = 'we"ird, name'  # a column name that must be quoted in SQL


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    x = rng.normal(size=N)
    df = pd.DataFrame(
        {
            "x": x,
            "y": 3 * x + rng.normal(size=N),  # "y" and "g" are also the aliases a query might use
            ODD: np.exp(x) + rng.normal(scale=0.1, size=N),
            "g": rng.choice(["a", "b", "c"], N),
            "sex": rng.choice(["F", "M"], N, p=[0.3, 0.7]),
            "email": [f"p{i}@example.com" for i in range(N)],
            "case_id": np.arange(N) + 1000,
        }
    )
    df["h"] = np.where(df["g"] == "a", "p", rng.choice(["p", "q"], N))
    df.loc[[3, 4], "sex"] = "X"  # two rows: never named
    df.loc[:39, ["x", "y"]] = np.nan
    df.loc[20:59, "g"] = None
    df.loc[100:101, "h"] = None  # a pattern of two rows: counted, not shown
    df.loc[7, ODD] = 500.0  # far outlier: |z| > 4
    return df


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    path = tmp_path_factory.mktemp("rel") / "rel.csv"
    df = _frame()
    df.to_csv(path, index=False)
    return path, pd.read_csv(path)


@pytest.fixture(scope="module")
def full(data: tuple[Path, pd.DataFrame]) -> dict:
    return profile_data(
        data[0],
        protected={"sex": "sex", "age": "age_band"},
        reference_shares={"sex": {"F": 0.5, "M": 0.49, "X": 0.01}},
    )


def test_missing_patterns_match_pandas(full: dict, data: tuple[Path, pd.DataFrame]) -> None:
    df = data[1]
    mp = full["missing_patterns"]
    assert mp["columns"] == ["x", "y", "g", "h"]
    counts = df[mp["columns"]].isna().value_counts()
    expected = {
        tuple(c for c, flag in zip(mp["columns"], key, strict=True) if flag): int(n)
        for key, n in counts.items()
        if n >= 5
    }
    got = {tuple(p["missing"]): p["count"] for p in mp["patterns"]}
    assert got == expected
    assert ("h",) not in got and mp["other_count"] == 2  # the two-row pattern is only counted
    pairs = {(p["a"], p["b"]): p for p in mp["co_missing"]}
    assert pairs[("x", "y")]["both"] == 40 and pairs[("x", "y")]["jaccard"] == 1.0
    assert pairs[("x", "g")]["both"] == int((df["x"].isna() & df["g"].isna()).sum()) == 20
    assert pairs[("g", "h")]["both"] == 0


def test_pearson_and_spearman_match_pandas(full: dict, data: tuple[Path, pd.DataFrame]) -> None:
    df = data[1]
    cor = full["correlations"]
    assert cor["columns"] == ["x", "y", ODD]  # the identifier and the e-mail take no part
    pairs = {(p["a"], p["b"]): p for p in cor["pairs"]}
    for a, b in itertools.combinations(cor["columns"], 2):
        assert pairs[(a, b)]["pearson"] == pytest.approx(df[a].corr(df[b]), abs=1e-6)
        assert pairs[(a, b)]["n"] == int((df[a].notna() & df[b].notna()).sum())
    # Spearman: ranks over each column's own values; x and y share their gaps, so it is exact
    assert pairs[("x", "y")]["spearman"] == pytest.approx(
        df["x"].corr(df["y"], method="spearman"), abs=1e-6
    )
    full_rows = df[ODD].rank()
    x_rank = df["x"].rank()
    assert pairs[("x", ODD)]["spearman"] == pytest.approx(x_rank.corr(full_rows), abs=1e-6)


def test_spearman_ties_share_the_average_rank(tmp_path: Path) -> None:
    df = pd.DataFrame({"a": [1, 1, 2, 2, 3, 3, 4, 9] * 5, "b": [2, 1, 2, 3, 5, 4, 4, 4] * 5})
    df.to_csv(tmp_path / "t.csv", index=False)
    got = profile_data(tmp_path / "t.csv")["correlations"]["pairs"][0]
    assert got["spearman"] == pytest.approx(df["a"].corr(df["b"], method="spearman"), abs=1e-6)


def _cramers(x: pd.Series, y: pd.Series) -> float:
    table = pd.crosstab(x, y).to_numpy().astype(float)
    n = table.sum()
    expected = np.outer(table.sum(1), table.sum(0)) / n
    chi2 = ((table - expected) ** 2 / expected).sum()
    return math.sqrt(chi2 / (n * (min(table.shape) - 1)))


def test_cramers_v_and_correlation_ratio_match(full: dict, data: tuple[Path, pd.DataFrame]) -> None:
    df = data[1]
    assoc = full["associations"]
    assert assoc["columns"] == ["g", "sex", "h"]
    v = {(p["a"], p["b"]): p["value"] for p in assoc["cramers_v"]}
    assert v[("g", "h")] == pytest.approx(_cramers(df["g"], df["h"]), abs=1e-6)
    assert v[("g", "h")] > 0.4 > v[("g", "sex")]
    # "sex" has a two-row group, counted under "(other)" and never named
    sex = df["sex"].where(df["sex"].isin(["F", "M"]) | df["sex"].isna(), "(other)")
    assert v[("g", "sex")] == pytest.approx(_cramers(df["g"], sex), abs=1e-6)
    eta = {(p["numeric"], p["categorical"]): p["value"] for p in assoc["correlation_ratio"]}
    both = df[["x", "g"]].dropna()
    means = both.groupby("g")["x"].agg(["mean", "count"])
    between = (means["count"] * (means["mean"] - both["x"].mean()) ** 2).sum()
    total = ((both["x"] - both["x"].mean()) ** 2).sum()
    assert eta[("x", "g")] == pytest.approx(math.sqrt(between / total), abs=1e-6)


def test_cramers_v_edges() -> None:
    assert cramers_v([[10, 0], [0, 10]]) == 1.0
    assert cramers_v([[5, 5], [5, 5]]) == 0.0
    assert cramers_v([[5, 5]]) is None  # one row: not defined
    assert cramers_v([[4, 0], [6, 0]]) is None  # an empty column leaves one: not defined


def test_outliers_by_iqr_and_z(full: dict, data: tuple[Path, pd.DataFrame]) -> None:
    s = data[1][ODD]
    o = next(c for c in full["columns"] if c["name"] == ODD)["numeric"]["outliers"]
    q1, q3 = s.quantile(0.25), s.quantile(0.75)
    assert o["count"] == int(((s < q1 - 1.5 * (q3 - q1)) | (s > q3 + 1.5 * (q3 - q1))).sum())
    assert o["z_count"] == int(((s - s.mean()).abs() > 4 * s.std()).sum()) == 1
    assert "|z| > 4" in o["z_rule"] and "1.5 × IQR" in o["rule"]
    assert full["duplicate_share"] == 0.0 and full["mode"] == "full"


def test_representation_against_reference_shares(full: dict) -> None:
    rep = {r["column"]: r for r in full["representation"]}
    sex = rep["sex"]
    groups = {g["value"]: g for g in sex["groups"]}
    assert set(groups) == {"F", "M"}  # X has two rows: not named
    assert groups["F"]["reference"] == 0.5
    assert groups["F"]["difference"] == pytest.approx(groups["F"]["share"] - 0.5, abs=1e-6)
    assert sex["reference_not_shown"] == [
        {"value": "X", "reference": 0.01, "why": "fewer than 5 rows, or not a value of sex"}
    ]
    assert rep["age_band"]["note"] == "not in this file"
    card = dataset_card(full)
    assert "| F |" in card and "Reference share" in card and "| X |" in card
    assert "X 2" not in card and "TO BE COMPLETED BY A PERSON (compare" in card


@pytest.mark.parametrize(
    ("shares", "words"),
    [
        ({"nope": {"a": 0.5}}, "not in the data"),
        ({"sex": {"F": 51, "M": 49}}, "between 0 and 1"),
        ({"sex": {"F": 0.7, "M": 0.7}}, "add up to 1.4"),
        ({"sex": {"F": True}}, "between 0 and 1"),
        ({"sex": ["F"]}, "not a mapping"),
    ],
)
def test_bad_reference_shares_are_one_line_errors(
    data: tuple[Path, pd.DataFrame], shares: dict, words: str
) -> None:
    with pytest.raises(DataError) as err:
        profile_data(data[0], reference_shares=shares)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_minimal_mode_skips_the_extra_scans(
    data: tuple[Path, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("minimal mode ran the full analyses")

    monkeypatch.setattr(profile_module, "relations", boom)
    p = profile_data(data[0], minimal=True)
    assert p["mode"] == "minimal"
    assert not {"missing_patterns", "correlations", "associations"} & set(p)
    assert p["representation"] == []  # no special-category or given column here


def test_column_cap_is_stated(data: tuple[Path, pd.DataFrame]) -> None:
    p = profile_data(data[0], max_columns=2)
    assert p["correlations"]["columns"] == ["x", "y"]
    assert p["correlations"]["left_out"] == [ODD] and p["correlations"]["limit"] == 2
    assert p["associations"]["left_out"] == ["h"]


def test_hidden_columns_never_take_part(full: dict) -> None:
    text = repr({k: full[k] for k in ("correlations", "associations", "missing_patterns")})
    assert "email" not in text and "case_id" not in text and "example.com" not in text


def test_spearman_on_a_stated_sample_above_the_rank_limit(
    data: tuple[Path, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    from civicml.data import _profile_relations as relations_module

    monkeypatch.setattr(relations_module, "RANK_ROWS", 300)
    cor = profile_data(data[0])["correlations"]
    assert cor["spearman_rows"] == 300 and "random sample of 300 rows" in cor["method"]
    df = data[1]
    pair = next(p for p in cor["pairs"] if (p["a"], p["b"]) == ("x", "y"))
    assert pair["pearson"] == pytest.approx(df["x"].corr(df["y"]), abs=1e-6)  # all rows
    exact = df["x"].corr(df["y"], method="spearman")
    assert pair["spearman"] == pytest.approx(exact, abs=0.05) and pair["spearman"] != exact
    again = profile_data(data[0])["correlations"]["pairs"]
    assert next(p for p in again if (p["a"], p["b"]) == ("x", "y")) == pair  # reproducible


def test_reference_groups_match_yes_no_spellings_and_name_unknown_ones(tmp_path: Path) -> None:
    df = pd.DataFrame({"disabled": [True] * 20 + [False] * 80, "x": range(100)})
    df.to_csv(tmp_path / "d.csv", index=False)
    p = profile_data(
        tmp_path / "d.csv",
        protected={"disability": "disabled"},
        reference_shares={"disabled": {"1": 0.25, "No": 0.7, "unknown": 0.05}},
    )
    (rep,) = p["representation"]
    got = {g["value"]: (g["reference"], g["difference"]) for g in rep["groups"]}
    assert got == {"false": (0.7, pytest.approx(0.1)), "true": (0.25, pytest.approx(-0.05))}
    assert rep["characteristic"] == "disability"
    assert rep["reference_not_shown"] == [
        {
            "value": "unknown",
            "reference": 0.05,
            "why": "not a value of disabled (its values: false, true)",
        }
    ]


def test_card_json_holds_the_markdown_cards_facts_and_no_withheld_value(full: dict) -> None:
    import json

    from civicml.data._profile_card import NEEDS_PERSON, dataset_card_data

    data = dataset_card_data(full, title="people")
    text = json.dumps(data)
    assert data["name"] == "people" and data["card_version"] == 1
    assert data["atrs"]["data_quantities"].startswith(f"{N:,} rows × 8 columns")
    assert data["needs_person"] and all(
        NEEDS_PERSON in data["atrs"][k] for k in data["needs_person"]
    )
    assert "data_collection" in data["needs_person"] and "data_modality" not in data["needs_person"]
    assert any(f.startswith("Strongly correlated numeric pairs") for f in data["findings"])
    assert data["representation"] == full["representation"]
    assert "example.com" not in text and '"X"' not in text.replace('"value": "X"', "")
    email = next(c for c in data["columns"] if c["name"] == "email")
    assert email["summary"].startswith("values not shown")
