from __future__ import annotations

import numpy as np
from sklearn.utils.estimator_checks import check_estimator

from civicml.learn import AutoClassifier, AutoRegressor

FAST = dict(max_trials=1, cv_folds=2, families=["linear"])


def test_auto_classifier_passes_check_estimator() -> None:
    check_estimator(AutoClassifier(**FAST))


def test_auto_regressor_passes_check_estimator() -> None:
    check_estimator(AutoRegressor(**FAST))


def test_auto_classifier_searches_and_exposes_leaderboard() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    X[::9, 1] = np.nan
    y = np.where(X[:, 0] > 0, "yes", "no")
    clf = AutoClassifier(max_trials=2, cv_folds=3).fit(X, y)
    assert list(clf.classes_) == ["no", "yes"]
    assert clf.score(X, y) > 0.9
    assert clf.leaderboard_.best is not None and clf.best_estimator_ is not None
    assert clf.predict_proba(X[:5]).shape == (5, 2)
