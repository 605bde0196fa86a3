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
    is_uk_phone,
    is_utr,
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


def test_scanner_min_share(synth: SimpleNamespace) -> None:
    values = synth.emails(3) + ["none"] * 97
    assert scan_personal_data(pd.DataFrame({"c": values})) == []
    assert scan_personal_data(pd.DataFrame({"c": values}), min_share=0.01)[0].kind == "email"


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
    assert msg.startswith("Column 'ni' holds personal data: 90% of 200 checked values")
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
