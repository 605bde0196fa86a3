from __future__ import annotations

import numpy as np
import pandas as pd

from civicml.monitor import DriftDetector, PCAReconstructionDrift


def _correlated(n: int, rho: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 3))
    a = z[:, 0]
    b = rho * a + np.sqrt(1 - rho**2) * z[:, 1]
    return pd.DataFrame(
        {"a": a, "b": b, "c": z[:, 2], "region": rng.choice(np.array(["N", "S"]), n)}
    )


def test_pca_catches_a_correlation_flip_no_column_shows() -> None:
    ref = _correlated(6000, 0.9, 0)
    cur = pd.concat([_correlated(1000, 0.9, 1), _correlated(1000, -0.9, 2)], ignore_index=True)
    # every column keeps its own distribution: the per-column detector sees nothing
    assert DriftDetector().fit(ref).detect(cur.iloc[1000:]).n_drifted == 0
    pca = PCAReconstructionDrift(chunk_size=250).fit(ref)
    result = pca.detect(cur)
    table = result.table
    assert not table["alert"].iloc[:4].any()
    assert table["out_of_bounds"].iloc[4:].all()
    assert table["alert"].iloc[5:].all()
    assert 0.65 <= pca.explained_variance_ratio_.sum() < 1
    assert "reconstruction error" in result.statistic


def test_pca_is_quiet_without_drift() -> None:
    pca = PCAReconstructionDrift(chunk_size=250).fit(_correlated(6000, 0.9, 0))
    assert pca.detect(_correlated(2500, 0.9, 7)).alerts == []
    errors = pca.reconstruction_error(_correlated(10, 0.9, 8))
    assert errors.shape == (10,) and np.isfinite(errors).all()
