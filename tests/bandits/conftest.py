from __future__ import annotations

import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def db_uri(tmp_path):
    return f"sqlite:///{tmp_path / 'bandits.db'}"


@pytest.fixture
def spec():
    from civicml.bandits import BanditSpec

    return BanditSpec(
        name="letters",
        arms=["plain", "social_norm", "deadline"],
        context=["age_under_30", "urban", "missed_before"],
        policy="linucb",
        alpha=0.5,
        min_propensity=0.05,
    )
