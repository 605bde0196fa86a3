"""Synthetic UK identifiers for the data tests: never real people's.

NI numbers use the QQ prefix (never issued), NHS numbers come from the 999 test range with a
valid check digit, phone numbers from Ofcom's drama ranges, emails from example.com.
"""

from __future__ import annotations

import string
from types import SimpleNamespace

import numpy as np
import pytest


def nhs_check_digit(body: str) -> int | None:
    """Check digit for 9 digits, or None where the number would be invalid (check 10)."""
    total = sum(int(d) * w for d, w in zip(body, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def nhs_numbers(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    out: list[str] = []
    while len(out) < n:
        body = "999" + f"{int(rng.integers(0, 10**6)):06d}"
        check = nhs_check_digit(body)
        if check is not None:
            out.append(body + str(check))
    return out


def utrs(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        rest = f"{int(rng.integers(0, 10**9)):09d}"
        total = sum(int(d) * w for d, w in zip(rest, [6, 7, 8, 9, 10, 5, 4, 3, 2], strict=True))
        out.append("21987654321"[total % 11] + rest)
    return out


def ninos(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [f"QQ{int(rng.integers(0, 10**6)):06d}{'ABCD'[i % 4]}" for i in range(n)]


def mobiles(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [f"07700 900{int(rng.integers(0, 1000)):03d}" for _ in range(n)]


def landlines(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [f"(01632) 960{int(rng.integers(0, 1000)):03d}" for _ in range(n)]


def emails(n: int) -> list[str]:
    return [f"person{i}@example.com" for i in range(n)]


def postcodes(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    areas = ["SW1A", "LS1", "M1", "B33", "EH1", "CF10", "BT7", "W1A"]
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    return [
        f"{areas[i % len(areas)]} {int(rng.integers(0, 10))}"
        f"{letters[int(rng.integers(0, 20))]}{letters[int(rng.integers(0, 20))]}"
        for i in range(n)
    ]


def driving_licences(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    up = string.ascii_uppercase
    out = []
    for _ in range(n):
        surname = "".join(up[int(k)] for k in rng.integers(0, 26, 5))
        month = ["01", "06", "12", "51", "57", "62"][int(rng.integers(0, 6))]
        day = f"{int(rng.integers(1, 29)):02d}"
        initials = "".join(up[int(k)] for k in rng.integers(0, 26, 2))
        tail = "".join(up[int(k)] for k in rng.integers(0, 26, 2))
        out.append(
            f"{surname}{int(rng.integers(0, 10))}{month}{day}{int(rng.integers(0, 10))}"
            f"{initials}9{tail}"
        )
    return out


@pytest.fixture
def synth() -> SimpleNamespace:
    """Generators of synthetic identifiers."""
    return SimpleNamespace(
        nhs_numbers=nhs_numbers,
        nhs_check_digit=nhs_check_digit,
        utrs=utrs,
        ninos=ninos,
        mobiles=mobiles,
        landlines=landlines,
        emails=emails,
        postcodes=postcodes,
        driving_licences=driving_licences,
    )
