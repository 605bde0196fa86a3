"""Estimator components that live inside saved pipelines.

They are loaded at serving time, so they import only numpy, pandas and scikit-learn, and every
class here is on the bundle's trusted-types list.
"""

from civicml.components._clusters import ClusterModel, anomaly_reasons, anomaly_reference
from civicml.components._dates import DateFeatures
from civicml.components._ensemble import (
    CalibratedModel,
    WeightedEnsemble,
    apply_calibrators,
    fit_calibrators,
)
from civicml.components._frame import AsCategorical
from civicml.components._text import flatten_text, to_str

__all__ = [
    "AsCategorical",
    "CalibratedModel",
    "ClusterModel",
    "DateFeatures",
    "WeightedEnsemble",
    "anomaly_reasons",
    "anomaly_reference",
    "apply_calibrators",
    "fit_calibrators",
    "flatten_text",
    "to_str",
]
