"""Screening for a Data Protection Impact Assessment (UK GDPR Art. 35).

The criteria are the European Data Protection Board's (WP248 rev.01, endorsed by the ICO) with
the ICO's own high-risk list folded in. Each is answered in the spec's ``data_protection:``
section (``true``/``false``) or, where civicml can see it in the data and the model, inferred
(and said to be). The result follows the EDPB's rule of thumb:

* ``required`` — two or more criteria met (and always when decisions are solely automated with
  legal or similarly significant effect and another criterion is met);
* ``advisable`` — one criterion met, or criteria left unanswered that could tip it;
* ``not indicated`` — every criterion answered ``false`` and none inferred.

A DPIA that is required must be recorded (its reference and date) before the version may take
a serving alias (see :func:`civicml.registry.legal_problems`).

Examples
--------
>>> s = screen_dpia({"vulnerable_people": True}, {"evaluation_or_scoring": "it scores people"})
>>> s.result, [c.id for c in s.met]
('required', ['evaluation_or_scoring', 'vulnerable_people'])
>>> screen_dpia({c.id: False for c in CRITERIA}, {}).result
'not indicated'
>>> screen_dpia({}, {}).result
'advisable'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CRITERIA", "DPIA_RESULTS", "Criterion", "DpiaScreen", "screen_dpia"]


@dataclass(frozen=True)
class Criterion:
    """One screening question: its key in ``data_protection:`` and its plain wording."""

    id: str
    label: str


#: the screening questions, in the order the ICO and the EDPB list them
CRITERIA: tuple[Criterion, ...] = (
    Criterion("evaluation_or_scoring", "evaluation or scoring of people (including profiling)"),
    Criterion(
        "automated_decisions",
        "automated decisions with legal or similarly significant effect on people",
    ),
    Criterion("systematic_monitoring", "systematic monitoring of people"),
    Criterion(
        "special_category_or_criminal_data",
        "special-category or criminal-offence data",
    ),
    Criterion("large_scale", "processing on a large scale"),
    Criterion("matching_datasets", "matching or combining datasets"),
    Criterion("vulnerable_people", "data about vulnerable people (e.g. benefit claimants)"),
    Criterion("innovative_technology", "innovative use of technology"),
    Criterion(
        "prevents_rights_or_services",
        "processing that can stop people exercising a right or using a service or contract",
    ),
)
#: what a screening can conclude
DPIA_RESULTS = ("required", "advisable", "not indicated")


@dataclass(frozen=True)
class ScreenedCriterion:
    """A criterion's answer: met or not (None: unanswered), and where that came from."""

    id: str
    label: str
    met: bool | None
    source: str  # "spec", "inferred" or "unanswered"
    why: str = ""


@dataclass(frozen=True)
class DpiaScreen:
    """The screening's result, each criterion's answer, and the reasons in plain words."""

    result: str
    criteria: tuple[ScreenedCriterion, ...] = field(default_factory=tuple)

    @property
    def met(self) -> list[ScreenedCriterion]:
        """The criteria met."""
        return [c for c in self.criteria if c.met]

    @property
    def unanswered(self) -> list[ScreenedCriterion]:
        """The criteria nobody answered and civicml could not infer."""
        return [c for c in self.criteria if c.met is None]

    def sentence(self) -> str:
        """The result in one sentence for the report and the ATRS record.

        >>> screen_dpia({"large_scale": True}, {}).sentence()[:46]
        'DPIA screening: advisable (1 criterion met: pr'
        """
        met = self.met
        listed = "; ".join(c.label + (f" ({c.why})" if c.why else "") for c in met)
        text = f"DPIA screening: {self.result}"
        if met:
            noun = "criterion" if len(met) == 1 else "criteria"
            text += f" ({len(met)} {noun} met: {listed})"
        if self.unanswered:
            text += (
                f"; {len(self.unanswered)} question(s) not answered in data_protection: "
                + ", ".join(c.id for c in self.unanswered)
            )
        return text + "."

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (the bundle's ``dpia_screen.json``)."""
        return {
            "result": self.result,
            "sentence": self.sentence(),
            "criteria": [
                {"id": c.id, "label": c.label, "met": c.met, "source": c.source, "why": c.why}
                for c in self.criteria
            ],
        }


def screen_dpia(answers: Mapping[str, bool | None], inferred: Mapping[str, str]) -> DpiaScreen:
    """Screen for a DPIA from a person's ``answers`` (criterion id -> true/false/None) and what
    civicml ``inferred`` from the data and model (criterion id -> why). A person's ``false``
    does not overrule what civicml can see: an inferred criterion counts as met, with its
    reason, so a screening cannot be answered away."""
    screened = []
    for c in CRITERIA:
        said = answers.get(c.id)
        if c.id in inferred:
            source = "inferred" if said is not True else "spec"
            screened.append(ScreenedCriterion(c.id, c.label, True, source, inferred[c.id]))
        elif said is None:
            screened.append(ScreenedCriterion(c.id, c.label, None, "unanswered"))
        else:
            screened.append(ScreenedCriterion(c.id, c.label, bool(said), "spec"))
    met = sum(1 for c in screened if c.met)
    unanswered = sum(1 for c in screened if c.met is None)
    if met >= 2:
        result = "required"
    elif met == 1 or unanswered:
        result = "advisable"
    else:
        result = "not indicated"
    return DpiaScreen(result, tuple(screened))
