"""Estimator components that live inside saved pipelines.

They are loaded at serving time, so they import only numpy, pandas and scikit-learn (never
other civicml packages), and every class here is on the bundle's trusted-types list. Two reach
further, inside functions only: ``TabularMLP*.fit`` trains with torch (``_mlp_train``;
prediction is numpy), and ``SentenceEmbedder`` loads torch and sentence-transformers when it
embeds (the deep extra).
"""

from civicml.components._clusters import ClusterModel, anomaly_reasons, anomaly_reference
from civicml.components._dates import DateFeatures
from civicml.components._embed import SentenceEmbedder
from civicml.components._ensemble import (
    CalibratedModel,
    WeightedEnsemble,
    apply_calibrators,
    fit_calibrators,
)
from civicml.components._frame import AsCategorical
from civicml.components._mlp import TabularMLPClassifier, TabularMLPRegressor
from civicml.components._text import TextSVD, flatten_text, to_str

__all__ = [
    "TextSVD",
    "AsCategorical",
    "CalibratedModel",
    "ClusterModel",
    "DateFeatures",
    "SentenceEmbedder",
    "TabularMLPClassifier",
    "TabularMLPRegressor",
    "WeightedEnsemble",
    "anomaly_reasons",
    "anomaly_reference",
    "apply_calibrators",
    "fit_calibrators",
    "flatten_text",
    "to_str",
]
