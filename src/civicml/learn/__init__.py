"""Learning: tasks and metrics, candidate families, cross-validation, the leaderboard, training."""

from civicml.data import detect_task
from civicml.learn._anomaly import anomaly_labels, detect_anomalies
from civicml.learn._auto import AutoClassifier, AutoRegressor
from civicml.learn._candidates import FAMILIES, Family, build_pipeline, families_for
from civicml.learn._clustering import (
    CLUSTER_MEASURES,
    cluster,
    profile_clusters,
    validate_clusters,
)
from civicml.learn._cv import CVResult, FoldControl, cross_validate, make_splitter
from civicml.learn._data_parallel import (
    PARALLEL_FAMILIES,
    DataParallelFit,
    fit_data_parallel,
    holdout_mask,
)
from civicml.learn._engine_search import derive_seed, search_on_engine
from civicml.learn._leaderboard import TIMING_FIELDS, Entry, Leaderboard
from civicml.learn._metrics import DEFAULT_METRIC, Metric, compute_metrics, get_metric, metrics_for
from civicml.learn._preprocess import FeatureRoles, build_preprocessor
from civicml.learn._select import Constraints, pareto_front
from civicml.learn._stats import bootstrap_ci, corrected_ttest, verdict
from civicml.learn._threshold import Threshold, choose_threshold
from civicml.learn._train import (
    TrainOptions,
    TrainResult,
    TrainSettings,
    cv_splits,
    held_out_metrics,
    train,
)

__all__ = [
    "CLUSTER_MEASURES",
    "TIMING_FIELDS",
    "anomaly_labels",
    "cluster",
    "detect_anomalies",
    "profile_clusters",
    "validate_clusters",
    "AutoClassifier",
    "DataParallelFit",
    "fit_data_parallel",
    "held_out_metrics",
    "PARALLEL_FAMILIES",
    "holdout_mask",
    "AutoRegressor",
    "Constraints",
    "bootstrap_ci",
    "corrected_ttest",
    "pareto_front",
    "verdict",
    "DEFAULT_METRIC",
    "FAMILIES",
    "CVResult",
    "Entry",
    "Family",
    "FoldControl",
    "FeatureRoles",
    "Leaderboard",
    "Metric",
    "Threshold",
    "TrainOptions",
    "TrainResult",
    "TrainSettings",
    "build_pipeline",
    "build_preprocessor",
    "choose_threshold",
    "compute_metrics",
    "cross_validate",
    "derive_seed",
    "detect_task",
    "families_for",
    "get_metric",
    "make_splitter",
    "metrics_for",
    "search_on_engine",
    "cv_splits",
    "train",
]
