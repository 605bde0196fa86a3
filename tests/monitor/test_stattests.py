from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

from civicml.monitor import _stattests as st


@pytest.mark.parametrize(("n", "m"), [(1, 1), (5, 3), (1000, 1000), (997, 2503), (40, 7)])
def test_wasserstein_matches_scipy(n: int, m: int) -> None:
    rng = np.random.default_rng(n * 7 + m)
    u = np.round(rng.normal(0, 1, n), 1)  # ties on purpose
    v = np.round(rng.normal(0.3, 2, m), 1)
    ours = st.wasserstein_distance_sorted(np.sort(u), np.sort(v))
    assert ours == pytest.approx(stats.wasserstein_distance(u, v), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(
    ("lo", "hi", "n"), [(0.0, 1.0, 2), (-3.2, 7.9, 1001), (5.0, 5.0, 10), (1e-3, 1e6, 2_000_000)]
)
def test_sturges_edges_and_histogram_match_numpy(lo: float, hi: float, n: int) -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(lo, hi, n)
    x[0], x[-1] = lo, hi
    edges_np = np.histogram_bin_edges(x, bins="sturges")
    edges = st.sturges_edges(lo, hi, n)
    np.testing.assert_array_equal(edges, edges_np)
    np.testing.assert_array_equal(
        st.histogram_from_sorted(np.sort(x), edges), np.histogram(x, edges)[0]
    )


def test_chisquare_matches_scipy() -> None:
    ref = np.array([120, 80, 40, 10])
    cur = np.array([50, 60, 30, 10])
    expected = stats.chisquare(cur, ref * cur.sum() / ref.sum()).pvalue
    assert st.chisquare_pvalue(ref, cur) == pytest.approx(expected, rel=1e-12)


def test_chisquare_new_category_is_drift() -> None:
    assert st.chisquare_pvalue(np.array([10, 10, 0]), np.array([10, 10, 5])) == 0.0


def test_jensenshannon_matches_scipy() -> None:
    ref, cur = np.array([5, 0, 3, 2]), np.array([1, 4, 3, 0])
    assert st.jensenshannon_distance(ref, cur) == pytest.approx(
        distance.jensenshannon(ref / 10, cur / 8), rel=1e-12
    )


def test_z_test_is_pooled_two_proportion_test() -> None:
    n1, n2, x1, x2 = 400, 300, 120, 120
    p1, p2, p = x1 / n1, x2 / n2, (x1 + x2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    expected = 2 * (1 - stats.norm.cdf(abs(z)))
    assert st.z_test_pvalue(np.array([n1 - x1, x1]), np.array([n2 - x2, x2])) == pytest.approx(
        expected
    )
    assert st.z_test_pvalue(
        np.array([n1 - x1, x1])[::-1], np.array([n2 - x2, x2])[::-1]
    ) == pytest.approx(expected)


def test_psi_fills_empty_bins_like_evidently() -> None:
    r = np.array([0.5, 0.5, 0.0])
    c = np.array([0.4, 0.4, 0.2])
    filled_r = np.where(r == 0, 0.0001, r)
    expected = np.sum((filled_r - c) * np.log(filled_r / c))
    assert st.psi_from_counts(r * 100, c * 100, n_ref=100, n_cur=100) == pytest.approx(expected)
