"""The bandit spec: arms, context features, policy and exploration floor (``bandit.yaml``).

The spec lives in its own file until the main ``civicml.yaml`` schema gains a ``bandit:``
section; :func:`load_bandit_spec` accepts either a top-level ``bandit:`` key or the fields at
the top level.

Examples
--------
>>> spec = BanditSpec(name="letters", arms=["plain", "deadline"], context=["urban"])
>>> spec.policy, spec.min_propensity
('linucb', 0.05)
>>> BanditSpec(name="x", arms=["a"])
Traceback (most recent call last):
...
civicml._errors.SpecError: The 'arms' list in bandit.yaml has too few arms. Expected at least 2 distinct arm names; got ['a']. List two or more arms.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from civicml._errors import SpecError
from civicml.spec import read_spec_file, validate_spec_model

__all__ = ["RUN_KEYS", "BanditSpec", "is_bandit_spec", "load_bandit_spec"]

#: Keys of a ``bandit:`` section that configure ``civicml run`` (the decision log to import,
#: candidate policies, protected features, the gate, the store), not the bandit itself.
RUN_KEYS = ("log", "candidates", "protected", "gate", "store")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
PolicyName = Literal["thompson", "linucb", "epsilon_greedy"]
_MISSING_FIX = "Pass the path to a bandit.yaml (see examples/letters/bandit.yaml)"


class BanditSpec(BaseModel):
    """An adaptive trial: which arms, which context, which policy.

    Parameters
    ----------
    name : str
        The bandit's name (URL-safe: letters, digits, ``_ . -``).
    arms : list of str
        The options tried, e.g. letter wordings.
    context : list of str
        Numeric context features (0/1 indicators for categories). Empty for context-free.
    policy : {"linucb", "thompson", "epsilon_greedy"}
        The learning policy.
    alpha : float
        LinUCB's exploration width.
    l2 : float
        LinUCB's ridge penalty.
    epsilon : float
        Epsilon-greedy's exploration share.
    min_propensity : float
        The exploration floor: every arm is chosen with at least this probability.
    reward : str
        The reward column in logged data files.
    reward_type : {"binary", "continuous"}
        Binary rewards must be 0 or 1; continuous rewards any finite number (Thompson needs
        rewards in [0, 1]).
    seed : int
        Seeds the policy's own random numbers.
    owner, description : str
        For the report.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    arms: list[str]
    context: list[str] = Field(default_factory=list)
    policy: PolicyName = "linucb"
    alpha: float = Field(1.0, ge=0.0)
    l2: float = Field(1.0, gt=0.0)
    epsilon: float = Field(0.1, ge=0.0, le=1.0)
    min_propensity: float = Field(0.05, ge=0.0, lt=1.0)
    reward: str = "reward"
    reward_type: Literal["binary", "continuous"] = "binary"
    seed: int = 0
    owner: str = ""
    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        name = data.get("name")
        if isinstance(name, str) and not _NAME.match(name):
            raise SpecError.build(
                "The bandit 'name' in bandit.yaml is not URL-safe",
                expected="1-64 letters, digits, '_', '.' or '-', starting with a letter or digit",
                got=name,
                fix="Rename the bandit.",
            )
        arms = data.get("arms")
        if isinstance(arms, list):
            arms = [str(a) for a in arms]
            if len(set(arms)) < 2:
                raise SpecError.build(
                    "The 'arms' list in bandit.yaml has too few arms",
                    expected="at least 2 distinct arm names",
                    got=arms,
                    fix="List two or more arms",
                )
            if len(set(arms)) != len(arms):
                raise SpecError.build(
                    "The 'arms' list in bandit.yaml repeats an arm",
                    expected="distinct arm names",
                    got=arms,
                    fix="Remove the repeated names",
                )
            floor = float(data.get("min_propensity", 0.05))
            if floor * len(arms) > 1.0:
                raise SpecError.build(
                    "The 'min_propensity' in bandit.yaml is too high for the number of arms",
                    expected=f"at most 1/{len(arms)} = {1 / len(arms):.4f}",
                    got=floor,
                    fix="Lower 'min_propensity' or use fewer arms",
                )
        if data.get("policy") == "linucb" and not data.get("context"):
            pass  # LinUCB with no context is a plain UCB on the intercept: allowed
        return data

    @property
    def policy_config(self) -> dict[str, Any]:
        """The policy's parameters, as stored with each policy version."""
        return {
            "policy": self.policy,
            "alpha": self.alpha,
            "l2": self.l2,
            "epsilon": self.epsilon,
            "min_propensity": self.min_propensity,
            "seed": self.seed,
        }


def load_bandit_spec(path: str | Path, *, name: str | None = None) -> BanditSpec:
    """Read a ``bandit.yaml`` (a top-level ``bandit:`` key or the fields themselves).

    Parameters
    ----------
    path : str or Path
        The file (a folder means its ``civicml.yaml``).
    name : str, optional
        A name that replaces the spec's own (validated like it).

    Returns
    -------
    BanditSpec

    Raises
    ------
    SpecError
        When the file is missing, is not YAML, or a field is invalid.
    """
    doc, p = read_spec_file(path, what="bandit spec", missing_fix=_MISSING_FIX)
    if isinstance(doc.get("bandit"), dict):
        doc = doc["bandit"]
    doc = {k: v for k, v in doc.items() if k not in RUN_KEYS}
    if name is not None:
        doc["name"] = name
    return spec_from_dict(doc, source=p.name)


def is_bandit_spec(path: str | Path) -> bool:
    """Whether ``path`` (a YAML file, or a folder's ``civicml.yaml``) has a ``bandit:`` section.

    Unreadable or invalid files answer ``False``, so the caller's own loader reports them.

    >>> is_bandit_spec("no-such-file.yaml")
    False
    """
    try:
        doc, _ = read_spec_file(path, what="bandit spec")
    except SpecError:
        return False
    return isinstance(doc.get("bandit"), dict)


def spec_from_dict(doc: dict[str, Any], *, source: str = "bandit.yaml") -> BanditSpec:
    """Validate a mapping into a :class:`BanditSpec`, raising :class:`SpecError` on a bad field.

    >>> spec_from_dict({"name": "b", "arms": ["a", "b"], "logs": "d.csv"})
    Traceback (most recent call last):
    ...
    civicml._errors.SpecError: Unknown key 'logs' in bandit.yaml. Expected one of [...]; got 'logs'. Did you mean 'log'?
    """
    return validate_spec_model(BanditSpec, doc, source=source, also_allowed=RUN_KEYS)
