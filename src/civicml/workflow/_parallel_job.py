"""``data_parallel: true``: the search on a sample, the final model on the whole table.

The driver holds only a sample (drawn by DuckDB, as for any file too large for memory) and the
held-out rows it assesses on; the table itself is read by the Dask workers
(:func:`civicml.learn.fit_lightgbm_dask`). The steps:

1. the sample's rows that the row hash puts on the held-out side are set aside, so the
   search, the preprocessing and the final model never see a held-out row;
2. the search runs on the rest of the sample, over the families the cluster can train
   (LightGBM and regularised linear models, as ``models`` allows; no ensemble, no
   calibration), and its chosen configuration is kept;
3. the preprocessing is fitted on that sample and the model is trained data-parallel on every
   training row of the table with that configuration (:func:`civicml.learn.fit_data_parallel`);
4. a uniform sample of the held-out rows comes back: for a binary model, half of it chooses
   the decision threshold (costs as in the spec) and the other half is assessed; otherwise all
   of it is assessed. The report says what each figure rests on.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from civicml.spec import ProjectSpec
from civicml.workflow._prepare import search_settings
from civicml.workflow._recording import EventHandler

__all__ = ["train_data_parallel"]


def train_data_parallel(
    spec: ProjectSpec,
    X: pd.DataFrame,
    y: pd.Series,
    roles: Any,
    task: str,
    on_event: EventHandler | None,
    emit: EventHandler,
) -> tuple[Any, pd.DataFrame]:
    """The result (its pipeline trained on the cluster, its metrics on held-out rows) and the
    held-out rows to assess it on; ``X``/``y`` are the driver's sample."""
    from civicml.data import partition_plan
    from civicml.engines import open_engine
    from civicml.learn import PARALLEL_FAMILIES, fit_data_parallel, holdout_mask, train

    key = sorted([*roles.features, spec.target])
    frame = X if spec.target in X else X.assign(**{str(spec.target): y})
    side = holdout_mask(frame, key, spec.test_size, spec.seed)
    Xs, ys = X.loc[~side].reset_index(drop=True), y.loc[~side].reset_index(drop=True)
    result = train(
        Xs,
        ys,
        roles=roles,
        task=task,
        on_event=on_event,
        families=[f for f in PARALLEL_FAMILIES if spec.models is None or f in spec.models],
        ensemble=False,
        calibrate=False,
        **search_settings(spec),
    )
    entry = _best_trainable(result.leaderboard)
    roles = result.roles
    params = dict(entry.params)
    prep = _fitted_prep(roles, entry.family, params.pop("text", None), Xs)
    path = spec.data_path()
    assert path is not None and spec.target is not None
    emit("stage", name="data_parallel", engine=spec.engine, candidate=entry.name)
    with open_engine(spec.engine) as engine:
        fit = fit_data_parallel(
            partition_plan(path),
            client=getattr(engine, "client"),  # noqa: B009 - DaskEngine's connection
            prep=prep,
            example=Xs[roles.features].head(20),
            target=spec.target,
            task=result.task,
            classes=result.classes,
            model=(entry.family, {**_family_defaults(entry.family), **params}),
            split=(spec.test_size, spec.seed),
            on_event=emit,
        )
    return _finish(spec, result, entry, fit, len(Xs))


def _best_trainable(board: Any) -> Any:
    """The best-scoring finished candidate of a family trained data-parallel: the board is
    ranked, the sample's selection rules (noise, defaults) already applied to ``selected``."""
    from civicml._errors import TrainingError
    from civicml.learn import PARALLEL_FAMILIES

    chosen = board.get(board.selected) if board.selected else None
    if chosen is not None and chosen.family in PARALLEL_FAMILIES and chosen.status == "ok":
        return chosen
    for e in board.ranked():
        if e.family in PARALLEL_FAMILIES and e.status == "ok":
            return e
    raise TrainingError.build(
        "The search on the sample finished no LightGBM or linear candidate to train data-parallel",
        fix="Raise budget_seconds (or max_trials) so at least one such trial completes",
    )


def _family_defaults(family: str) -> dict[str, Any]:
    from civicml.learn import FAMILIES

    return dict(FAMILIES[family].defaults)


def _fitted_prep(roles: Any, family: str, text: Any, X: pd.DataFrame) -> Any:
    """The family's preprocessing (for LightGBM categories as ordinal codes; for a linear
    model one-hot codes, imputed and scaled numbers; text as TF-IDF + SVD or the
    configuration's choice) fitted on the sample: the pipeline's first step on every worker."""
    from civicml.learn import FAMILIES, build_preprocessor

    prep = build_preprocessor(roles, FAMILIES[family].flavour, text=str(text or "tfidf"))
    return prep.fit(X[roles.features])


def _finish(
    spec: ProjectSpec, result: Any, entry: Any, fit: Any, n_sample: int
) -> tuple[Any, pd.DataFrame]:
    from civicml.learn import choose_threshold, held_out_metrics

    target, roles, task = result.target, result.roles, result.task
    hold = fit.holdout
    threshold, rows = None, hold
    classes = np.asarray(result.classes, dtype=object)
    if task == "binary":
        pick, rows = hold.iloc[::2], hold.iloc[1::2].reset_index(drop=True)
        score = fit.pipeline.predict_proba(pick[roles.features])[:, 1]
        threshold = choose_threshold(
            (pick[target] == classes[1]).to_numpy(),
            score,
            cost_fp=spec.costs.false_positive,
            cost_fn=spec.costs.false_negative,
        )
    predict = fit.pipeline.predict if task == "regression" else fit.pipeline.predict_proba
    metrics, scores = held_out_metrics(
        task, rows[target].to_numpy(), predict(rows[roles.features]), classes, threshold
    )
    record = {
        **fit.to_dict(),
        "search_rows": n_sample,
        "search_candidate": entry.name,
        "threshold_rows": len(hold) - len(rows) if task == "binary" else 0,
        "assessed_rows": len(rows),
        "note": (
            f"Searched on a sample of {n_sample:,} training rows; the final "
            f"{'LightGBM' if fit.family == 'lightgbm' else 'linear model'} "
            f"({entry.name}'s configuration) trained data-parallel on all {fit.n_train:,} "
            f"training rows on {fit.workers} Dask worker(s); assessed on {len(rows):,} of the "
            f"{fit.n_holdout:,} held-out rows"
            + (
                f" (another {len(hold) - len(rows):,} chose the threshold)"
                if task == "binary"
                else ""
            )
        ),
    }
    result.leaderboard.selected = entry.name
    result.leaderboard.extra["data_parallel"] = record
    done = replace(
        result,
        best=entry.name,
        pipeline=fit.pipeline,
        test_metrics=metrics,
        threshold=threshold,
        n_train=fit.n_train,
        n_test=fit.n_holdout,
        test_index=[],
        test_scores=scores,
        extra={**result.extra, "data_parallel": record},
    )
    return done, rows
