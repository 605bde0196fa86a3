"""Safe model serialisation with skops: only types that civicml itself trusts may load.

The list of trusted types lives here, in civicml's code, and is never read from the file being
loaded. scikit-learn's own estimators are trusted by skops itself; the entries below are the few
extra types that scikit-learn trees, LightGBM and civicml's components need.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from civicml._errors import BundleError

__all__ = ["TRUSTED_TYPES", "dump_model", "load_model", "untrusted_types"]

TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        "builtins.slice",
        "collections.OrderedDict",
        "functools.partial",
        "sklearn.utils.validation.check_array",
        "collections.defaultdict",
        "numpy.dtype",
        "numpy.float64",
        "numpy.int64",
        "numpy.random._mt19937.MT19937",
        "numpy.random.mtrand.RandomState",
        "scipy.sparse._csr.csr_matrix",
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        "sklearn._loss.link.IdentityLink",
        "sklearn._loss.link.LogitLink",
        "sklearn._loss.link.MultinomialLogit",
        "sklearn._loss.loss.HalfBinomialLoss",
        "sklearn._loss.loss.HalfMultinomialLoss",
        "sklearn._loss.loss.HalfSquaredError",
        "sklearn._loss.link.Interval",
        "lightgbm.basic.Booster",
        "lightgbm.sklearn.LGBMClassifier",
        "lightgbm.sklearn.LGBMRegressor",
        "civicml.components._dates.DateFeatures",
        "civicml.components._frame.AsCategorical",
        "civicml.components._clusters.ClusterModel",
        "civicml.components._ensemble.WeightedEnsemble",
        "civicml.components._ensemble.CalibratedModel",
        "civicml.components._text.flatten_text",
        "civicml.components._text.TextSVD",
        "civicml.components._text.to_str",
        "civicml.components._mlp.TabularMLPClassifier",
        "civicml.components._mlp.TabularMLPRegressor",
        "civicml.components._embed.SentenceEmbedder",
        "pandas.core.arrays.categorical.Categorical",
    }
)


def dump_model(model: Any, path: str | Path) -> None:
    """Write ``model`` to ``path`` in the skops format (never pickle)."""
    import skops.io as sio

    sio.dump(model, str(path))


def untrusted_types(path: str | Path) -> list[str]:
    """Types in a skops file that skops does not trust by default."""
    import skops.io as sio

    return list(sio.get_untrusted_types(file=str(path)))


def load_model(path: str | Path) -> Any:
    """Load a skops file, refusing any type outside :data:`TRUSTED_TYPES`.

    Raises
    ------
    BundleError
        The file holds a type civicml does not trust, or is not a skops file.
    """
    import skops.io as sio

    try:
        found = untrusted_types(path)
    except Exception as exc:  # skops raises several types for a corrupt file
        raise BundleError.build(
            f"{str(path)!r} is not a readable skops model file ({type(exc).__name__})",
            fix="Rebuild the bundle",
        ) from None
    refused = sorted(set(found) - TRUSTED_TYPES)
    if refused:
        raise BundleError.build(
            f"The model file {str(path)!r} holds types civicml does not trust",
            expected=f"only types in civicml's trusted list ({len(TRUSTED_TYPES)} types)",
            got=refused,
            fix="Rebuild the model with civicml; never load models from untrusted sources",
        )
    return sio.load(str(path), trusted=found)
