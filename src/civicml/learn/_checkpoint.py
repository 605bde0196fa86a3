"""The search's checkpoint: every finished trial on disk, so a killed search can be resumed.

A checkpoint is a folder (``OUT/.checkpoint`` beside the bundle for ``civicml train``/``run``)
holding ``meta.json`` — the sha256 of the training data and the search settings it belongs to —
and, per finished trial, ``trial-NNNN.json`` (family, parameters, Optuna number, each fold's
metrics, timings, error and status) with each fold's out-of-fold predictions as
``trial-NNNN-fold-K.npy``: everything the finish step needs, as JSON and plain arrays (no
pickle; arrays are read with ``allow_pickle=False``). The in-process search
(:mod:`civicml.learn._search_resume`) adds a trial's ``extra`` (plain JSON) and its whole
out-of-fold array, ``trial-NNNN-oof.npy``. A trial's JSON is written last, through a
temporary name, so a trial is in the checkpoint whole or not at all.

Resuming on other data or with other settings is refused with one clear line
(:class:`~civicml._errors.SpecError`, exit 2): the finished trials would not be the ones this
search would run.

Examples
--------
>>> import tempfile
>>> folder = tempfile.mkdtemp()
>>> ck = SearchCheckpoint.open(folder, {"data_sha256": "ab", "settings": {"seed": 0}})
>>> ck.save(0, "linear", {"C": 1.0}, 0, [{"metrics": {"auc": 0.9}, "oof": np.zeros(2),
...     "fit_seconds": 0.1, "seconds": 0.1, "us_per_row": 1.0, "error": None, "status": "ok"}])
>>> again = SearchCheckpoint.open(folder, {"data_sha256": "ab", "settings": {"seed": 0}},
...     resume=True)
>>> again.trials[0]["family"], again.trials[0]["folds"][0]["oof"].tolist()
('linear', [0.0, 0.0])
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from civicml._errors import SpecError
from civicml._files import PRIVATE_FILE_MODE, create_private_dir

__all__ = ["CheckpointOptions", "SearchCheckpoint", "data_sha256"]

_VERSION = 1
_FIELDS = ("metrics", "fit_seconds", "seconds", "us_per_row", "error", "status")


def data_sha256(X: pd.DataFrame, y: np.ndarray) -> str:
    """A sha256 of the training rows (values, column names and types) and the target.

    >>> X = pd.DataFrame({"a": [1, 2]})
    >>> data_sha256(X, np.array([0, 1])) == data_sha256(X.copy(), np.array([0, 1]))
    True
    >>> data_sha256(X, np.array([0, 1])) == data_sha256(X, np.array([1, 0]))
    False
    """
    h = hashlib.sha256()
    h.update(json.dumps([[str(c), str(t)] for c, t in X.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(X, index=False).to_numpy().tobytes())
    h.update(pd.util.hash_pandas_object(pd.Series(np.asarray(y)), index=False).to_numpy().tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class CheckpointOptions:
    """Where a search keeps its checkpoint, and whether to continue the one there.

    >>> CheckpointOptions("out/.civicml-checkpoint", resume=True).resume
    True
    """

    folder: str | Path
    resume: bool = False


class SearchCheckpoint:
    """The finished trials of one search, kept in ``folder``; open with :meth:`open`.

    ``trials`` maps a trial's position in the search (0 for the baseline when there is one,
    then the Optuna trials in the order they were asked) to what :meth:`save` stored.
    """

    def __init__(self, folder: Path, key: dict[str, Any]) -> None:
        self.folder = folder
        self.key = key
        self.trials: dict[int, dict[str, Any]] = {}

    @classmethod
    def open(
        cls, folder: str | Path, key: dict[str, Any], *, resume: bool = False
    ) -> SearchCheckpoint:
        """Start a checkpoint in ``folder`` (clearing an old one), or, with ``resume``, read
        the trials it holds; a checkpoint of other data or settings is refused.

        ``key`` is ``{"data_sha256": ..., "settings": {...}}`` (plain JSON). Resuming where no
        checkpoint was written yet starts an empty one.
        """
        ck = cls(Path(folder), json.loads(json.dumps(key)))
        meta = ck.folder / "meta.json"
        if resume and meta.is_file():
            ck._check(meta)
            ck.trials = ck._load()
            return ck
        if ck.folder.exists():
            if any(ck.folder.iterdir()) and not meta.is_file():
                raise SpecError.build(
                    f"{ck.folder} exists and is not a civicml search checkpoint",
                    fix="Move it away: civicml keeps its search checkpoint there",
                )
            shutil.rmtree(ck.folder)
        create_private_dir(ck.folder)  # out-of-fold predictions: 0700, and so its new parents
        _write_json(meta, {"version": _VERSION, **ck.key})
        return ck

    def _check(self, meta: Path) -> None:
        try:
            old = json.loads(meta.read_text())
        except (OSError, ValueError) as exc:
            raise SpecError.build(
                f"Cannot resume: the checkpoint {meta} is unreadable",
                got=str(exc)[:120],
                fix="Run again without --resume to start the search afresh",
            ) from None
        if old.get("version") != _VERSION or old.get("data_sha256") != self.key["data_sha256"]:
            raise SpecError.build(
                f"Cannot resume: the checkpoint in {self.folder} was made from other data",
                expected=f"data sha256 {str(old.get('data_sha256'))[:12]}…",
                got=f"{self.key['data_sha256'][:12]}…",
                fix="Resume with the data the search started on, or run without --resume",
            )
        if old.get("settings") != self.key["settings"]:
            changed = sorted(
                k
                for k in {*old.get("settings", {}), *self.key["settings"]}
                if old.get("settings", {}).get(k) != self.key["settings"].get(k)
            )
            raise SpecError.build(
                f"Cannot resume: the checkpoint in {self.folder} was made with other search "
                f"settings ({', '.join(changed)})",
                fix="Resume with the spec the search started with, or run without --resume",
            )

    def _load(self) -> dict[int, dict[str, Any]]:
        trials: dict[int, dict[str, Any]] = {}
        for path in sorted(self.folder.glob("trial-*.json")):
            try:
                entry = json.loads(path.read_text())
                for k, fold in enumerate(entry["folds"]):
                    npy = self.folder / f"{path.stem}-fold-{k}.npy"
                    has = fold.pop("has_oof")
                    fold["oof"] = np.load(npy, allow_pickle=False) if has else None
                if entry.pop("has_oof", False):
                    entry["oof"] = np.load(self.folder / f"{path.stem}-oof.npy", allow_pickle=False)
                trials[int(entry["position"])] = entry
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise SpecError.build(
                    f"Cannot resume: the checkpoint's {path.name} is damaged",
                    got=str(exc)[:120],
                    fix="Run again without --resume to start the search afresh",
                ) from None
        return trials

    def save(
        self,
        position: int,
        family: str,
        params: dict[str, Any],
        number: int | None,
        folds: list[dict[str, Any]],
        *,
        extra: dict[str, Any] | None = None,
        oof: np.ndarray | None = None,
    ) -> None:
        """Record one finished trial: its folds' results as :func:`run_fold` returned them.

        ``extra`` (plain JSON) and ``oof`` (the whole trial's out-of-fold predictions, kept as
        ``trial-NNNN-oof.npy``) are for a search that keeps more than its folds (the
        in-process search, :mod:`civicml.learn._search_resume`).
        """
        stem = f"trial-{position:04d}"
        saved = []
        for k, fold in enumerate(folds):
            if fold.get("oof") is not None:
                _write_npy(self.folder / f"{stem}-fold-{k}.npy", fold["oof"])
            saved.append(
                {**{f: fold.get(f) for f in _FIELDS}, "has_oof": fold.get("oof") is not None}
            )
        if oof is not None:
            _write_npy(self.folder / f"{stem}-oof.npy", oof)
        entry = {
            "position": position,
            "family": family,
            "params": params,
            "number": number,
            "folds": saved,
            **({"extra": extra} if extra is not None else {}),
            **({"has_oof": True} if oof is not None else {}),
        }
        _write_json(self.folder / f"{stem}.json", entry)
        loaded = json.loads(json.dumps(entry, default=_plain))
        for fold, given in zip(loaded["folds"], folds, strict=True):
            fold.pop("has_oof")
            fold["oof"] = given.get("oof")
        if loaded.pop("has_oof", False):
            loaded["oof"] = np.asarray(oof)
        self.trials[position] = loaded

    def entry(self, position: int, family: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """What :meth:`save` stored for the trial at ``position`` when it is the same trial
        (family and parameters), else None (it must run)."""
        entry = self.trials.get(position)
        if entry is None or entry["family"] != family:
            return None
        if entry["params"] != json.loads(json.dumps(params, default=_plain)):
            return None
        return entry

    def finished(self, position: int, family: str, params: dict[str, Any]) -> list[dict] | None:
        """The stored folds of the trial at ``position`` when it is the same trial (family and
        parameters), else None (it must run)."""
        entry = self.entry(position, family, params)
        return None if entry is None else list(entry["folds"])

    def forget_from(self, position: int) -> None:
        """Stop offering the trials from ``position`` on (the search went another way there:
        they are not its trials any more; their files are overwritten as it goes)."""
        self.trials = {k: v for k, v in self.trials.items() if k < position}

    def remove(self) -> None:
        """Delete the checkpoint (once the run it belongs to is saved)."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _write_npy(path: Path, array: Any) -> None:
    tmp = path.with_name(f".{path.stem}.tmp.npy")
    np.save(tmp, np.asarray(array), allow_pickle=False)
    os.chmod(tmp, PRIVATE_FILE_MODE)
    os.replace(tmp, path)


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=1, default=_plain))
    os.chmod(tmp, PRIVATE_FILE_MODE)
    os.replace(tmp, path)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON")
