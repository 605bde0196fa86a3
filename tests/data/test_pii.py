from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicml import PersonalDataError
from civicml.data import (
    PIIFinding,
    check_personal_data,
    is_driving_licence,
    is_email,
    is_nhs_number,
    is_nino,
    is_passport,
    is_postcode,
    is_sort_code,
    is_uk_phone,
    is_utr,
    is_vat_number,
    read_table,
    scan_personal_data,
)

from .conftest import nhs_check_digit

REPO = Path(__file__).resolve().parents[2]


# --- validators ------------------------------------------------------------------------------


def test_nino() -> None:
    assert is_nino("AB123456C") and is_nino("ab 12 34 56 c") and is_nino("JG-10-37-21-B")
    for bad in ["QQ123456A", "GB123456A", "AO123456A", "DA123456A", "AB123456E", "AB12345C", ""]:
        assert not is_nino(bad), bad


def test_nhs_number(synth: SimpleNamespace) -> None:
    assert is_nhs_number("9434765919") and is_nhs_number("943 476 5919")
    assert is_nhs_number(9434765919) and is_nhs_number("943-476-5919")
    assert not is_nhs_number("9434765918") and not is_nhs_number("943476591")
    assert not is_nhs_number("94347659190") and not is_nhs_number("abcdefghij")
    assert all(is_nhs_number(n) for n in synth.nhs_numbers(200))


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_nhs_accepts_exactly_right_check_digits(number: str) -> None:
    check = nhs_check_digit(number[:9])
    assert is_nhs_number(number) == (check is not None and int(number[9]) == check)


def test_postcode() -> None:
    for good in ["SW1A 1AA", "sw1a1aa", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "GIR 0AA"]:
        assert is_postcode(good), good
    for bad in ["SW1A 1A", "QQ1 1AA", "12345", "SW1A 1AAA", "LS1", "LS1 1CI"]:
        assert not is_postcode(bad), bad


def test_uk_phone() -> None:
    for good in [
        "07700 900123",
        "07700900999",
        "+44 7700 900123",
        "0044 7700 900123",
        "(01632) 960001",
        "+44 (0)1632 960001",
        "020 7946 0000",
    ]:
        assert is_uk_phone(good), good
    for bad in ["7700 900123", "0770090012", "077009001234", "+1 555 0100", "00 7700 900123"]:
        assert not is_uk_phone(bad), bad


def test_utr(synth: SimpleNamespace) -> None:
    assert is_utr("2234567890") and is_utr("22345 67890") and is_utr("2234567890K")
    assert is_utr("1232234567890")  # 13 digits: the last 10 carry the check
    assert not is_utr("1234567890") and not is_utr("223456789") and not is_utr("22345678901")
    assert all(is_utr(u) for u in synth.utrs(100))


@given(st.text(alphabet="0123456789", min_size=9, max_size=9), st.sampled_from("0123456789"))
def test_utr_exactly_one_check_digit(rest: str, first: str) -> None:
    total = sum(int(d) * w for d, w in zip(rest, [6, 7, 8, 9, 10, 5, 4, 3, 2], strict=True))
    assert is_utr(first + rest) == (first == "21987654321"[total % 11])


def test_driving_licence(synth: SimpleNamespace) -> None:
    assert is_driving_licence("MORGA753116SM9IJ") and is_driving_licence("morga 753116 sm9ij")
    assert not is_driving_licence("MORGA773116SM9IJ")  # month 77
    assert not is_driving_licence("MORGA753116SM9I")  # 15 characters
    assert all(is_driving_licence(d) for d in synth.driving_licences(50))


def test_passport_and_email() -> None:
    assert is_passport("123456789") and is_passport("AB1234567") and not is_passport("ABC123456")
    assert is_email("jo.bloggs+x@example.com") and is_email(" A.B@sub.example.co.uk ")
    assert not is_email("jo@example") and not is_email("jo example.com") and not is_email("@x.com")


# --- scanner ---------------------------------------------------------------------------------


def _with_junk(values: list[str], junk_every: int) -> list[str]:
    return [("unknown" if i % junk_every == 0 else v) for i, v in enumerate(values)]


@pytest.fixture
def people(synth: SimpleNamespace) -> pd.DataFrame:
    n = 200
    rng = np.random.default_rng(1)
    nhs = synth.nhs_numbers(n)
    return pd.DataFrame(
        {
            "ni": _with_junk(synth.ninos(n), 10),  # 180 of 200 valid-shaped: share 0.9
            "nhs": nhs,
            "nhs_int": [int(x) for x in nhs],
            "post": synth.postcodes(n),
            "mobile": synth.mobiles(n),
            "landline": synth.landlines(n),
            "mobile_int": [7700900000 + int(k) for k in rng.integers(0, 1000, n)],
            "utr": synth.utrs(n),
            "licence": synth.driving_licences(n),
            "passport_no": [f"{int(k):09d}" for k in rng.integers(10**8, 10**9, n)],
            "serial": [f"{int(k):09d}" for k in rng.integers(10**8, 10**9, n)],
            "email": synth.emails(n),
            "notes": [
                f"Spoke to them, reply to person{i}@example.com"
                if i % 4 == 0
                else "No answer today"
                for i in range(n)
            ],
            "region": rng.choice(["North East", "London", "Wales"], n),
            "amount": rng.normal(100, 10, n),
            "count": rng.integers(0, 1000, n),
            "ref10": rng.integers(10**9, 10**10, n),  # random 10-digit numbers
            "empty": [None] * n,
        }
    )


def test_scanner_finds_each_kind(people: pd.DataFrame) -> None:
    found = {(f.column, f.kind): f for f in scan_personal_data(people)}
    expected = {
        ("ni", "nino"): 0.9,
        ("nhs", "nhs_number"): 1.0,
        ("nhs_int", "nhs_number"): 1.0,
        ("post", "postcode"): 1.0,
        ("mobile", "phone"): 1.0,
        ("landline", "phone"): 1.0,
        ("mobile_int", "phone"): 1.0,
        ("utr", "utr"): 1.0,
        ("licence", "driving_licence"): 1.0,
        ("passport_no", "passport"): 1.0,
        ("email", "email"): 1.0,
        ("notes", "email (in text)"): 0.25,
    }
    assert set(found) == set(expected)
    for key, share in expected.items():
        assert found[key].share == pytest.approx(share), key
        assert found[key].n_checked == 200
    assert found[("ni", "nino")].n_matched == 180


def test_scanner_samples_and_ignores_nulls(synth: SimpleNamespace) -> None:
    df = pd.DataFrame({"email": synth.emails(3000) + [None] * 1000})
    (f,) = scan_personal_data(df, sample_rows=500)
    assert (f.kind, f.n_checked, f.share) == ("email", 500, 1.0)


def test_scanner_min_share_applies_to_weak_evidence_only(synth: SimpleNamespace) -> None:
    # QQ-prefixed NI numbers have the shape but not an allocated prefix: weak evidence
    values = synth.ninos(3) + ["none"] * 97
    assert scan_personal_data(pd.DataFrame({"c": values})) == []
    assert scan_personal_data(pd.DataFrame({"c": values}), min_share=0.01)[0].kind == "nino"
    # email addresses are strong evidence: reported at any share
    (f,) = scan_personal_data(pd.DataFrame({"c": synth.emails(3) + ["none"] * 97}))
    assert (f.kind, f.n_matched, f.n_checked) == ("email", 3, 100)


def test_scanner_nothing_in_benefits_example() -> None:
    df = read_table(REPO / "examples" / "benefits" / "benefits.csv")
    assert scan_personal_data(df) == []


def test_in_text_identifiers(synth: SimpleNamespace) -> None:
    n = 40
    df = pd.DataFrame(
        {
            "note": [f"Call back on {p} after lunch" for p in synth.mobiles(n)],
            "memo": [f"NHS no {x[:3]} {x[3:6]} {x[6:]} checked" for x in synth.nhs_numbers(n)],
            "addr": [f"Flat 2, 1 High St, {p}" for p in synth.postcodes(n)],
        }
    )
    kinds = {(f.column, f.kind) for f in scan_personal_data(df)}
    assert kinds == {
        ("note", "phone (in text)"),
        ("memo", "nhs_number (in text)"),
        ("addr", "postcode (in text)"),
    }


# --- refusing undeclared personal data -------------------------------------------------------


def test_check_personal_data(people: pd.DataFrame) -> None:
    findings = scan_personal_data(people)
    with pytest.raises(PersonalDataError) as err:
        check_personal_data(findings)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith("Column 'ni' holds personal data: 180 of 200 checked values (90%)")
    assert "National Insurance numbers" in msg and "'nino'" in msg
    assert msg.endswith(
        "Declare it under columns.id to drop it, under columns.drop, or under "
        "personal_data.allow to keep it."
    )
    columns = sorted({f.column for f in findings})
    check_personal_data(findings, allowed=columns)
    check_personal_data(findings, id_columns=columns[:5], drop_columns=columns[5:])
    with pytest.raises(PersonalDataError, match="Column 'notes'"):
        check_personal_data(findings, allowed=[c for c in columns if c != "notes"])


def test_finding_label_and_dict() -> None:
    f = PIIFinding("c", "email (in text)", 0.5, 1, 2)
    assert f.label == "email addresses inside text"
    assert f.to_dict() == {
        "column": "c",
        "kind": "email (in text)",
        "label": "email addresses inside text",
        "share": 0.5,
        "n_matched": 1,
        "n_checked": 2,
    }


# --- finding what is there, at any share ----------------------------------------------------

FILLER = [
    "Called, no answer. Will try again on 12/03/2024 at 10:30.",
    "Paid £1,250.00 of £3,000 arrears (41.7%); next payment due 2024-04-01.",
    "Visit booked for 3 people, flat 14, floor 2; ref 8812 and case 2023/0417.",
    "Letter sent, 2nd reminder. Claim period 52 weeks, 7 days a week, 24 hours.",
]


def _notes(n: int, extra: dict[int, str]) -> pd.DataFrame:
    rows = [FILLER[i % len(FILLER)] for i in range(n)]
    for i, text in extra.items():
        rows[i] = f"{rows[i]} {text}"
    return pd.DataFrame({"notes": rows})


def test_one_nhs_number_in_2000_free_text_rows_is_reported() -> None:
    found = scan_personal_data(_notes(2000, {1234: "Her NHS number is 943 476 5919."}))
    assert [(f.kind, f.n_matched, f.n_checked) for f in found] == [
        ("nhs_number (in text)", 1, 2000)
    ]
    # the same digits with a wrong check digit are not an NHS number
    assert scan_personal_data(_notes(2000, {1234: "Her NHS number is 943 476 5918."})) == []
    # and a valid one without any context is still reported (no other 10-digit numbers)
    assert scan_personal_data(_notes(2000, {7: "ref 9434765919"}))[0].n_matched == 1


def test_the_issue_case_nhs_postcode_and_phone_in_a_few_percent_of_notes(
    synth: SimpleNamespace,
) -> None:
    n = 2000
    nhs, post, phone = synth.nhs_numbers(34), synth.postcodes(98), synth.mobiles(34)
    extra = {i * 50: f"NHS {nhs[i]}" for i in range(34)}  # 1.7%
    extra.update({i * 20 + 1: f"lives at {post[i]}" for i in range(98)})  # 4.9%
    extra.update({i * 50 + 2: f"mobile {phone[i]}" for i in range(34)})  # 1.7%
    found = {f.kind: f.n_matched for f in scan_personal_data(_notes(n, extra))}
    assert found == {
        "nhs_number (in text)": 34,
        "postcode (in text)": 98,
        "phone (in text)": 34,
    }


def test_no_false_alarm_on_ordinary_numbers_in_free_text() -> None:
    rng = np.random.default_rng(3)
    rows = [
        f"{FILLER[i % 4]} Amount {int(rng.integers(1, 10**6)):,}; order "
        f"{int(rng.integers(10**9, 10**10))}; {int(rng.integers(1, 28))}-"
        f"{int(rng.integers(1, 12)):02d}-{int(rng.integers(0, 99)):02d}"
        for i in range(3000)
    ]
    assert scan_personal_data(pd.DataFrame({"notes": rows})) == []
    # random 10-digit references in a column: about 1 in 11 pass each check digit, not most
    refs = pd.DataFrame({"ref": [str(int(k)) for k in rng.integers(10**9, 10**10, 3000)]})
    assert scan_personal_data(refs) == []


def test_vat_numbers() -> None:
    for good in [
        "GB980780684",
        "GB 980 7806 84",
        "gb980780684001",
        "GBGD001",
        "GBHA599",
        "980780684",
    ]:
        assert is_vat_number(good), good
    for bad in ["GB980780685", "GB98078068", "GBGD500", "GBHA499", "GB000000000", "FR980780684"]:
        assert not is_vat_number(bad), bad
    df = pd.DataFrame(
        {
            "supplier": ["GB 980 7806 84", "GBGD001"] + ["n/a"] * 198,
            "memo": ["Invoice from GB980780684001 paid"] + ["Invoice paid"] * 199,
            "lookalike": ["Invoice GB 980 7806 85 paid"] + ["Invoice paid"] * 199,
            "vat_no": ["980780684"] + [None] * 199,
        }
    )
    found = {(f.column, f.kind): f.n_matched for f in scan_personal_data(df)}
    assert found == {("supplier", "vat"): 2, ("memo", "vat (in text)"): 1, ("vat_no", "vat"): 1}


def test_sort_codes_need_context() -> None:
    assert is_sort_code("20-00-00") and is_sort_code("200000") and not is_sort_code("20-00")
    df = pd.DataFrame(
        {
            "notes": ["Refund to sort code 20-00-00 please"] + ["Refund made"] * 999,
            "bank": ["Pay 40-47-84 12345678 today"] + ["Paid"] * 999,
            "dates": ["Seen on 12-03-24 and 01 02 25"] + ["Seen"] * 999,
            "sort_code": ["200000"] + [None] * 999,
            "codes": ["40-47-84"] * 100 + ["none"] * 900,
            "when": ["12-03-24"] * 100 + ["none"] * 900,
        }
    )
    found = {(f.column, f.kind): f.n_matched for f in scan_personal_data(df)}
    assert found == {
        ("notes", "sort_code (in text)"): 1,
        ("bank", "sort_code (in text)"): 1,
        ("sort_code", "sort_code"): 1,
        ("codes", "sort_code"): 100,  # weak evidence above min_share, and not a date
    }


def test_strong_whole_values_at_any_share_in_structured_columns(synth: SimpleNamespace) -> None:
    n = 1000
    df = pd.DataFrame(
        {
            "contact": ["n/a"] * (n - 1) + ["AB 12 34 56 C"],
            "nhs": [None] * (n - 1) + ["9434765919"],
            "where": ["unknown"] * (n - 2) + synth.postcodes(2),
        }
    )
    found = {(f.column, f.kind): f.n_matched for f in scan_personal_data(df)}
    assert found == {("contact", "nino"): 1, ("nhs", "nhs_number"): 1, ("where", "postcode"): 2}


def test_every_row_is_read_and_100k_rows_are_fast() -> None:
    import time

    df = _notes(100_000, {99_999: "call 07700 900123"})
    df["ref"] = [f"R{i:07d}" for i in range(100_000)]
    started = time.perf_counter()
    found = scan_personal_data(df)
    assert time.perf_counter() - started < 5  # about 0.3 s alone on one core
    assert [(f.column, f.kind, f.n_matched) for f in found] == [("notes", "phone (in text)", 1)]


def test_validate_spec_reports_rare_identifiers_in_notes(tmp_path: Path) -> None:
    import yaml
    from typer.testing import CliRunner

    from civicml.cli import app

    df = _notes(2000, {i * 59: "NHS 943 476 5919, SW1A 1AA, 07700 900123" for i in range(34)})
    df["y"] = [i % 2 for i in range(2000)]
    df["x"] = [i % 7 for i in range(2000)]
    df.to_csv(tmp_path / "cases.csv", index=False)
    spec = {"name": "p", "data": {"path": "cases.csv"}, "target": "y", "task": "binary"}
    (tmp_path / "civicml.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    out = CliRunner().invoke(app, ["validate", "--spec", str(tmp_path / "civicml.yaml")])
    assert out.exit_code == 1, out.output
    assert "No UK personal data found" not in out.output
    for kind in ("nhs_number (in text)", "postcode (in text)", "phone (in text)"):
        assert kind in out.output
