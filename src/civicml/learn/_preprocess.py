"""Preprocessing per column role, built with scikit-learn's ColumnTransformer.

Three flavours: ``"scaled"`` for models that need numbers on one scale (linear, kNN:
impute, standardise, one-hot), ``"tree"`` for tree ensembles (numbers kept with their NaN,
categories ordinal-encoded with unknown and missing as NaN, optionally as pandas categoricals
for LightGBM's native categorical splits) and ``"deep"`` for the MLP (categories first as
ordinal codes for its embedding tables, then numbers imputed and standardised).

Text columns become numbers through TF-IDF + SVD (``text="tfidf"``) or sentence embeddings
from a packaged model (``text="embed"``, the deep extra); the search chooses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler

from civicml.components import (
    AsCategorical,
    DateFeatures,
    SentenceEmbedder,
    TextSVD,
    flatten_text,
    to_str,
)

__all__ = ["FeatureRoles", "build_preprocessor"]


@dataclass(frozen=True)
class FeatureRoles:
    """Which input columns play which role. Columns not listed are not features.

    Examples
    --------
    >>> r = FeatureRoles(numeric=["age"], categorical=["sex"])
    >>> r.features
    ['sex', 'age']
    """

    numeric: Sequence[str] = field(default_factory=list)
    categorical: Sequence[str] = field(default_factory=list)
    text: Sequence[str] = field(default_factory=list)
    date: Sequence[str] = field(default_factory=list)

    @property
    def features(self) -> list[str]:
        return [*self.categorical, *self.numeric, *self.date, *self.text]

    @classmethod
    def from_mapping(cls, roles: Mapping[str, str]) -> FeatureRoles:
        """Build from ``{column: role}``; roles other than the four feature roles are skipped."""
        groups: dict[str, list[str]] = {"numeric": [], "categorical": [], "text": [], "date": []}
        for col, role in roles.items():
            if role in groups:
                groups[role].append(col)
        return cls(**groups)


def _ordinal_categories(roles: FeatureRoles) -> tuple[str, object, list[str]]:
    return (
        "cat",
        make_pipeline(
            FunctionTransformer(to_str, feature_names_out="one-to-one"),
            OrdinalEncoder(
                handle_unknown="use_encoded_value",
                unknown_value=np.nan,
                encoded_missing_value=np.nan,
                min_frequency=3,
                max_categories=250,
            ),
        ),
        list(roles.categorical),
    )


def build_preprocessor(
    roles: FeatureRoles, flavour: str, *, native_categorical: bool = False, text: str = "tfidf"
):
    """A transformer from the raw feature frame to a model-ready matrix.

    Parameters
    ----------
    roles : FeatureRoles
    flavour : {"scaled", "tree", "deep"}
    native_categorical : bool
        For ``"tree"``: wrap the output so categorical columns come first as pandas categoricals
        (LightGBM then splits on them natively).
    text : {"tfidf", "embed"}
        TF-IDF + 32-component SVD, or sentence embeddings (:class:`SentenceEmbedder`).
    """
    if text not in ("tfidf", "embed"):
        raise ValueError(f"text must be 'tfidf' or 'embed'; got {text!r}")
    parts: list[tuple[str, object, list[str]]] = []
    if flavour == "deep":
        if roles.categorical:
            parts.append(_ordinal_categories(roles))
        if roles.numeric:
            parts.append(
                (
                    "num",
                    make_pipeline(
                        SimpleImputer(strategy="median", add_indicator=True), StandardScaler()
                    ),
                    list(roles.numeric),
                )
            )
    elif flavour == "scaled":
        if roles.categorical:
            parts.append(
                (
                    "cat",
                    make_pipeline(
                        FunctionTransformer(to_str, feature_names_out="one-to-one"),
                        OneHotEncoder(
                            handle_unknown="infrequent_if_exist",
                            min_frequency=5,
                            max_categories=64,
                            sparse_output=False,
                        ),
                    ),
                    list(roles.categorical),
                )
            )
        if roles.numeric:
            parts.append(
                (
                    "num",
                    make_pipeline(
                        SimpleImputer(strategy="median", add_indicator=True), StandardScaler()
                    ),
                    list(roles.numeric),
                )
            )
    else:
        if roles.categorical:
            parts.append(_ordinal_categories(roles))
        if roles.numeric:
            parts.append(("num", "passthrough", list(roles.numeric)))
    if roles.date:
        date_steps: list[object] = [DateFeatures()]
        if flavour in ("scaled", "deep"):
            date_steps += [SimpleImputer(strategy="median"), StandardScaler()]
        parts.append(("date", make_pipeline(*date_steps), list(roles.date)))
    for i, col in enumerate(roles.text):
        if text == "embed":
            text_pipe: object = SentenceEmbedder()
        else:
            vec = TfidfVectorizer(
                max_features=5000, ngram_range=(1, 2), min_df=2, sublinear_tf=True
            )
            text_pipe = make_pipeline(
                FunctionTransformer(flatten_text),
                vec,
                TextSVD(n_components=32, random_state=0),
            )
        parts.append((f"text{i}", text_pipe, [col]))
    transformer = ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)
    if flavour == "tree" and native_categorical and roles.categorical:
        return Pipeline(
            [
                ("columns", transformer),
                ("dtypes", AsCategorical(n_categorical=len(roles.categorical))),
            ]
        )
    return transformer
