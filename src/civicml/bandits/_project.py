"""A bandit project for ``civicml run``: the bandit, a decision log to import, candidates to test.

A ``bandit:`` section holds the bandit's own fields (see :class:`BanditSpec`) plus the keys in
:data:`RUN_KEYS`: ``log`` (a file of decisions logged by another system), ``candidates``
(policies to evaluate off-policy), ``protected`` (context features to report allocation by),
``gate`` (how a candidate is judged) and ``store`` (the bandit store URL).

Examples
--------
>>> p = project_from_dict({"name": "demo", "arms": ["a", "b"], "context": ["x"],
...                        "candidates": [{"policy": "thompson"}], "protected": ["x"]})
>>> p.bandit.name, p.candidates[0].policy, p.gate.estimator
('demo', 'thompson', 'dr')
>>> project_from_dict({"name": "demo", "arms": ["a", "b"], "protected": ["age"]})
Traceback (most recent call last):
...
civicml._errors.SpecError: The 'protected' feature 'age' in bandit.yaml is not a context feature. Expected one of []. List only features named under 'context'.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from civicml._errors import CivicMLError, DataError, SpecError
from civicml.bandits._spec import _MISSING_FIX, RUN_KEYS, BanditSpec, PolicyName, spec_from_dict
from civicml.spec import read_spec_file, validate_spec_model

__all__ = [
    "LOG_COLUMNS",
    "BanditProject",
    "CandidateSpec",
    "GateSpec",
    "load_bandit_project",
    "project_from_dict",
    "read_decision_log",
]

#: Columns a decision log must have besides the context features and the reward column.
LOG_COLUMNS = ("arm", "propensity")


class CandidateSpec(BaseModel):
    """A candidate policy to evaluate off-policy (unset fields take the bandit's values)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: PolicyName = "linucb"
    alpha: float | None = Field(None, ge=0.0)
    l2: float | None = Field(None, gt=0.0)
    epsilon: float | None = Field(None, ge=0.0, le=1.0)
    min_propensity: float | None = Field(None, ge=0.0, lt=1.0)
    seed: int | None = None

    def config(self, spec: BanditSpec) -> dict[str, Any]:
        """The policy config for :func:`make_policy`, defaults filled from ``spec``."""
        base = spec.policy_config
        mine = self.model_dump(exclude_none=True)
        return {**base, **mine}


class GateSpec(BaseModel):
    """How a candidate is judged: the estimator whose lower bound must beat the logged value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    estimator: Literal["dr", "ips", "snips"] = "dr"
    margin: float = 0.0
    train_fraction: float = Field(default=0.5, gt=0.0, lt=1.0)
    n_boot: int = Field(default=1000, ge=50, le=20000)


class BanditProject(BaseModel):
    """Everything ``civicml run`` needs for a bandit."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    bandit: BanditSpec
    log: str | None = None
    candidates: list[CandidateSpec] = Field(default_factory=list)
    protected: list[str] = Field(default_factory=list)
    gate: GateSpec = Field(default_factory=lambda: GateSpec())
    store: str | None = None
    base_dir: Path = Path(".")

    @property
    def name(self) -> str:
        return self.bandit.name

    def log_path(self) -> Path | None:
        """The decision log's path, which must lie inside the spec's folder."""
        if not self.log:
            return None
        base = self.base_dir.resolve()
        path = (base / self.log).resolve()
        if not path.is_relative_to(base):
            raise SpecError.build(
                "The 'log' file in bandit.yaml lies outside the spec's folder",
                expected=f"a path inside {str(base)!r}",
                got=self.log,
                fix="Copy the decision log next to the spec and name it relative to it",
            )
        return path

    def store_uri(self) -> str:
        """``store``, else ``$CIVICML_BANDITS_DB``, else ``.civicml/bandits.db`` in the spec's folder."""
        import os

        default = f"sqlite:///{self.base_dir.resolve() / '.civicml' / 'bandits.db'}"
        return self.store or os.environ.get("CIVICML_BANDITS_DB") or default


def project_from_dict(
    doc: dict[str, Any], *, base_dir: str | Path = ".", source: str = "bandit.yaml"
) -> BanditProject:
    """Validate a ``bandit:`` section into a :class:`BanditProject` (one-line SpecError)."""
    spec = spec_from_dict({k: v for k, v in doc.items() if k not in RUN_KEYS}, source=source)
    run = {k: doc[k] for k in RUN_KEYS if k in doc and doc[k] is not None}
    project = validate_spec_model(
        BanditProject, {**run, "bandit": spec, "base_dir": Path(base_dir)}, source=source
    )
    for feature in project.protected:
        if feature not in spec.context:
            raise SpecError.build(
                f"The 'protected' feature {feature!r} in {source} is not a context feature",
                expected=f"one of {list(spec.context)}",
                fix="List only features named under 'context'",
            )
    for cand in project.candidates:
        floor = cand.min_propensity
        if floor is not None and floor * len(spec.arms) > 1.0:
            raise SpecError.build(
                f"A candidate's 'min_propensity' in {source} is too high for the number of arms",
                expected=f"at most 1/{len(spec.arms)} = {1 / len(spec.arms):.4f}",
                got=floor,
                fix="Lower the candidate's 'min_propensity'",
            )
    return project


def load_bandit_project(path: str | Path) -> BanditProject:
    """Read a YAML file with a top-level ``bandit:`` section (or a folder's civicml.yaml)."""
    doc, p = read_spec_file(path, what="bandit spec", missing_fix=_MISSING_FIX)
    section = doc.get("bandit")
    if not isinstance(section, dict):
        raise SpecError.build(
            f"The spec {str(p)!r} has no 'bandit:' section",
            expected="a mapping under 'bandit:' with 'name' and 'arms'",
            got=type(section).__name__,
            fix="Write the bandit's fields under a top-level 'bandit:' key",
        )
    return project_from_dict(section, base_dir=p.parent, source=p.name)


def _bad(path: Path, line: int, column: str, what: str, value: Any, fix: str) -> CivicMLError:
    return DataError.build(
        f"Line {line} of {path.name}, column {column!r}: {what}", got=value, fix=fix
    )


def read_decision_log(path: Path, spec: BanditSpec) -> list[dict[str, Any]]:
    """Read and check a decision log logged by another system; nothing is stored here.

    The file needs the context features, ``arm``, ``propensity`` (the probability the arm was
    chosen with, in (0, 1]) and the reward column (blank while the outcome is unknown); an
    optional ``decision_id`` column keeps the other system's ids. Rows come back in file order
    as dicts ready for :meth:`BanditStore.import_decisions`; a row without a ``decision_id`` gets
    one derived from the bandit, its line and its content, so re-importing the file adds nothing.

    Raises
    ------
    DataError
        On the first unusable row or missing column, naming the line and the column.
    """
    from civicml.data import read_table

    if not path.is_file():
        raise DataError.build(
            f"The decision log {path.name!r} named by 'log' does not exist",
            got=str(path),
            fix="Check the 'log' path in bandit.yaml (relative to the spec's folder)",
        )
    frame = read_table(path)
    columns = [str(c) for c in frame.columns]
    need = [*spec.context, *LOG_COLUMNS, spec.reward]
    missing = [c for c in need if c not in columns]
    if missing:
        raise DataError.build(
            f"The decision log {path.name} lacks column {missing[0]!r}. Columns are: {columns[:20]}",
            fix=f"Add the columns {need} (the reward column is set by 'reward' in bandit.yaml)",
        )
    if len(frame) == 0:
        raise DataError.build(
            f"The decision log {path.name} has no rows", fix="Export the decisions with a header"
        )
    has_id = "decision_id" in columns
    arms = set(spec.arms)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    records = frame.to_dict(orient="records")
    for i, rec in enumerate(records):
        line = i + 2  # the header is line 1
        arm = rec["arm"]
        arm = None if _blank(arm) else str(arm).strip()
        if arm not in arms:
            raise _bad(
                path,
                line,
                "arm",
                f"the arm is not one of the bandit's arms {list(spec.arms)}",
                arm,
                "Use the arm names listed under 'arms' in bandit.yaml",
            )
        prop = _number(rec["propensity"])
        if prop is None or not 0.0 < prop <= 1.0:
            raise _bad(
                path,
                line,
                "propensity",
                "the propensity is not a probability in (0, 1]",
                rec["propensity"],
                "Log the probability the arm was chosen with (0 is never valid: set a floor)",
            )
        context: dict[str, float] = {}
        for f in spec.context:
            v = _number(rec[f])
            if v is None:
                raise _bad(
                    path, line, f, "the context value is not a finite number", rec[f],
                    "Use numbers (0/1 for categories)",
                )  # fmt: skip
            context[f] = v
        reward = None if _blank(rec[spec.reward]) else _number(rec[spec.reward])
        if not _blank(rec[spec.reward]) and (
            reward is None
            or (spec.reward_type == "binary" and reward not in (0.0, 1.0))
            or (spec.policy == "thompson" and not 0.0 <= reward <= 1.0)
        ):
            raise _bad(
                path,
                line,
                spec.reward,
                f"the reward is not a valid {spec.reward_type} reward",
                rec[spec.reward],
                "Use 0 or 1 for binary rewards, finite numbers otherwise, blank when unknown",
            )
        if has_id and not _blank(rec["decision_id"]):
            did = str(rec["decision_id"]).strip()
        else:
            key = f"{spec.name}|{line}|{sorted(context.items())}|{arm}|{prop!r}"
            did = "log-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:28]
        if len(did) > 64 or did in seen:
            raise _bad(
                path, line, "decision_id", "the decision_id is repeated or longer than 64 characters",
                did, "Give each decision a unique id of at most 64 characters",
            )  # fmt: skip
        seen.add(did)
        rows.append(
            {
                "decision_id": did,
                "context": context,
                "arm": arm,
                "propensity": prop,
                "reward": reward,
            }
        )
    return rows


def _blank(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    try:
        import pandas as pd

        if v is pd.NA or v is pd.NaT:
            return True
    except ImportError:  # pragma: no cover
        pass
    return isinstance(v, str) and not v.strip()


def _number(v: Any) -> float | None:
    if _blank(v) or isinstance(v, bool):
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None
