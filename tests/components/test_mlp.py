"""TabularMLP*: numpy forward pass equals torch's, determinism, early stopping, safe saving."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the deep extra (torch==2.13.0) is not installed")

from civicml.components import TabularMLPClassifier, TabularMLPRegressor  # noqa: E402
from civicml.components._mlp_net import embedding_indices, mlp_forward  # noqa: E402
from civicml.components._mlp_train import fit_tabular_mlp  # noqa: E402


def _data(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.c_[
        rng.integers(0, 5, n).astype(float),
        rng.integers(0, 3, n).astype(float),
        rng.normal(size=(n, 3)),
    ]
    X[::25, 0] = np.nan  # missing category code
    y = ((X[:, 0] == 1) | (X[:, 2] > 0.5)).astype(int)
    return X, y


def test_numpy_forward_matches_torch() -> None:
    X, y = _data()
    fitted = fit_tabular_mlp(
        X, y, task="classification", n_categorical=2, max_epochs=15, return_net=True
    )
    net = fitted["torch_net"]
    codes = torch.from_numpy(embedding_indices(X[:, :2], fitted["cardinalities_"]))
    numbers = torch.from_numpy(np.nan_to_num(X[:, 2:]).astype(np.float32))
    with torch.no_grad():
        logits = net(codes, numbers)
        proba = torch.softmax(logits, dim=1).numpy()
    ours = mlp_forward(
        X,
        n_categorical=2,
        cardinalities=fitted["cardinalities_"],
        embeddings=fitted["embeddings_"],
        coefs=fitted["coefs_"],
        intercepts=fitted["intercepts_"],
    )
    np.testing.assert_allclose(ours, logits.numpy(), atol=1e-5)
    clf = TabularMLPClassifier(n_categorical=2, max_epochs=15).fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(X), proba, atol=1e-5)


def test_deterministic_for_a_seed_and_different_across_seeds() -> None:
    X, y = _data()
    a = TabularMLPClassifier(n_categorical=2, max_epochs=10, random_state=3).fit(X, y)
    b = TabularMLPClassifier(n_categorical=2, max_epochs=10, random_state=3).fit(X, y)
    c = TabularMLPClassifier(n_categorical=2, max_epochs=10, random_state=4).fit(X, y)
    assert np.array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))
    # the global torch settings are restored after training
    assert not torch.are_deterministic_algorithms_enabled()


def test_early_stopping_keeps_the_best_epoch() -> None:
    X, y = _data(400)
    clf = TabularMLPClassifier(n_categorical=2, max_epochs=300, patience=3, learning_rate=0.02)
    clf.fit(X, y)
    assert clf.n_epochs_ < 300
    assert clf.best_epoch_ == clf.n_epochs_ - 3
    assert np.isfinite(clf.best_validation_loss_)
    assert clf.score(X, y) > 0.9


def test_unknown_and_missing_codes_share_index_zero() -> None:
    X, y = _data()
    clf = TabularMLPClassifier(n_categorical=2, max_epochs=5).fit(X, y)
    odd = X[:4].copy()
    odd[:, 0] = [np.nan, 99.0, -1.0, 1.5]
    same = X[:4].copy()
    same[:, 0] = np.nan
    np.testing.assert_allclose(clf.predict_proba(odd), clf.predict_proba(same))


def test_string_classes_and_multiclass() -> None:
    X, _ = _data()
    y = np.array(["a", "b", "c"])[X[:, 1].astype(int)]
    clf = TabularMLPClassifier(n_categorical=2, max_epochs=40, learning_rate=0.01).fit(X, y)
    assert clf.predict_proba(X).shape == (len(X), 3)
    assert set(clf.predict(X)) <= {"a", "b", "c"}
    assert clf.score(X, y) > 0.9


def test_regressor_on_real_data() -> None:
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    reg = TabularMLPRegressor(max_epochs=200, learning_rate=3e-3, random_state=0)
    reg.fit(X[:350], y[:350])
    assert reg.score(X[350:], y[350:]) > 0.3
    assert isinstance(reg.coefs_[0], np.ndarray)


def test_saved_with_skops_as_plain_arrays(tmp_path) -> None:
    import sys

    from civicml.bundle._serialise import dump_model, load_model

    X, y = _data()
    clf = TabularMLPClassifier(n_categorical=2, max_epochs=5).fit(X, y)
    path = tmp_path / "mlp.skops"
    dump_model(clf, path)
    back = load_model(path)
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    # nothing of torch is held by the fitted model
    assert not any("torch" in type(v).__module__ for v in vars(clf).values())
    assert "torch" in sys.modules  # (it was imported for training, not for prediction)


@pytest.mark.slow
def test_check_estimator() -> None:
    from sklearn.utils.estimator_checks import check_estimator

    check_estimator(TabularMLPClassifier(max_epochs=60, hidden_units=16, learning_rate=0.02))
    check_estimator(TabularMLPRegressor(max_epochs=60, hidden_units=16, learning_rate=0.02))
