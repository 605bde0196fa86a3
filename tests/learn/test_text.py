"""Text columns: TF-IDF or sentence embeddings, chosen by the search, on real reviews."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from civicml.learn import FeatureRoles
from civicml.learn._candidates import build_pipeline, family_of
from civicml.learn._preprocess import build_preprocessor
from civicml.learn._spaces import suggest, text_choices

REVIEWS = Path(__file__).resolve().parents[2] / "examples" / "text" / "reviews.csv"
ROLES = FeatureRoles(text=["text"])


def _deep_installed() -> bool:
    return text_choices() == ["tfidf", "embed"]


needs_deep = pytest.mark.skipif(
    not _deep_installed(), reason="the deep extra (torch, sentence-transformers) is not installed"
)


def test_tfidf_is_the_default_and_bad_choices_fail() -> None:
    pre = build_preprocessor(ROLES, "scaled")
    assert type(pre.transformers[0][1].steps[1][1]).__name__ == "TfidfVectorizer"
    with pytest.raises(ValueError, match="tfidf"):
        build_preprocessor(ROLES, "scaled", text="bert")


def test_search_space_holds_the_text_choice() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    params = suggest(trial, "linear", "binary")
    if _deep_installed():
        assert params["text"] in ("tfidf", "embed")
    else:
        assert "text" not in params
    assert "text" not in suggest(study.ask(), "linear", "binary", text=False)


@needs_deep
def test_embeddings_pipeline_on_real_reviews() -> None:
    from sklearn.model_selection import cross_val_score

    from civicml.components import SentenceEmbedder

    data = pd.read_csv(REVIEWS).iloc[:1200]
    X, y = data[["text"]], data["label"]
    embed = build_pipeline(family_of("linear"), "binary", ROLES, {"text": "embed"}, 0)
    assert isinstance(embed.named_steps["prep"].transformers[0][1], SentenceEmbedder)
    tfidf = build_pipeline(family_of("linear"), "binary", ROLES, {"text": "tfidf"}, 0)
    s_embed = cross_val_score(embed, X, y, cv=3).mean()
    s_tfidf = cross_val_score(tfidf, X, y, cv=3).mean()
    assert s_embed > 0.7
    assert s_embed > s_tfidf  # short snippets: embeddings beat a 32-component TF-IDF SVD


@needs_deep
def test_mlp_on_embedded_text() -> None:
    data = pd.read_csv(REVIEWS).iloc[:800]
    pipe = build_pipeline(family_of("mlp"), "binary", ROLES, {"text": "embed", "max_epochs": 20}, 0)
    pipe.fit(data[["text"]].iloc[:600], data["label"].iloc[:600])
    assert pipe.score(data[["text"]].iloc[600:], data["label"].iloc[600:]) > 0.65
