"""A DPIA the screening says is required must be recorded before serving (issue 21).

The bundle carries the screening (``dpia_screen.json``, from the spec's ``data_protection:``
answers plus what civicml sees); the registry keeps it in the version's legal record, where no
one can type it, and refuses a serving alias until a DPIA reference and date are recorded —
which may happen after approval, since it changes nothing that was approved.
"""

from __future__ import annotations

from typing import Any

import pytest

from civicml._errors import GovernanceError, RegistryError

REQUIRED = {
    "result": "required",
    "sentence": "DPIA screening: required.",
    "criteria": [
        {"id": "evaluation_or_scoring", "met": True, "source": "inferred", "why": "scores people"},
        {"id": "vulnerable_people", "met": True, "source": "spec", "why": ""},
    ],
}
ADVISABLE = {
    "result": "advisable",
    "criteria": [{"id": "evaluation_or_scoring", "met": True, "source": "inferred", "why": ""}],
}


def _approved(registry: Any, make_bundle: Any, screen: dict, oversight: str) -> int:
    bundle = make_bundle(extra={"dpia_screen.json": screen})
    v = registry.register(bundle.path, "benefits", actor="rosa", oversight=oversight)
    assert v.legal["dpia_screen"]["result"] == screen["result"]
    legal = None
    if oversight == "solely-automated":
        legal = {
            "safeguards": {
                "information": "Letter",
                "contest": "Reply",
                "human_intervention": "Call",
            }
        }
    registry.request_approval(
        "benefits", v.version, actor="rosa", reason="ready", lawful_basis="public-task", legal=legal
    )
    registry.approve("benefits", v.version, by="ada", reason="read it")
    return int(v.version)


def test_a_required_dpia_blocks_serving_until_its_reference_and_date(
    registry: Any, make_bundle: Any
) -> None:
    version = _approved(registry, make_bundle, REQUIRED, "human-in-the-loop")
    with pytest.raises(GovernanceError) as refused:
        registry.promote("benefits", version, actor="ada")
    assert "a DPIA the screening says is required" in str(refused.value)
    assert "--dpia-ref REF --dpia-date YYYY-MM-DD" in str(refused.value)

    with pytest.raises(RegistryError, match="not a date it could have been completed on"):
        registry.set_governance(
            "benefits",
            version,
            actor="rosa",
            legal={"dpia": {"reference": "D-1", "date": "2999-01-01"}},
        )
    from civicml.registry import check_legal

    with pytest.raises(RegistryError, match="read from the bundle"):
        check_legal({"dpia_screen": {"result": "not indicated"}})
    # only the reference: still refused
    registry.set_governance("benefits", version, actor="rosa", legal={"dpia": {"reference": "D-1"}})
    with pytest.raises(GovernanceError, match="DPIA"):
        registry.promote("benefits", version, actor="ada")
    # recorded after approval (it changes nothing approved), audited, then it may serve
    v = registry.set_governance(
        "benefits", version, actor="rosa", legal={"dpia": {"date": "2026-11-01"}}
    )
    assert v.status == "approved" and v.legal["dpia"] == {"reference": "D-1", "date": "2026-11-01"}
    assert v.legal["dpia_screen"]["result"] == "required"  # still the bundle's screening
    assert registry.promote("benefits", version, actor="ada").aliases == ("production",)
    assert registry.verify_audit().ok
    # anything else is still refused on an approved version
    with pytest.raises(Exception, match="was approved"):
        registry.set_governance("benefits", version, actor="rosa", intended_use="Something else")


def test_a_solely_automated_decision_is_a_criterion_of_its_own(
    registry: Any, make_bundle: Any
) -> None:
    advisory = _approved(registry, make_bundle, ADVISABLE, "human-in-the-loop")
    assert registry.promote("benefits", advisory, actor="ada").aliases == ("production",)
    automated = _approved(registry, make_bundle, ADVISABLE, "solely-automated")
    with pytest.raises(GovernanceError, match="a DPIA the screening says is required"):
        registry.promote("benefits", automated, actor="ada")


def test_the_training_job_screens_from_the_spec_and_what_it_sees(tmp_path: Any) -> None:
    from civicml.spec import spec_from_dict
    from civicml.workflow._training_job import dpia_screen

    spec = spec_from_dict(
        {
            "name": "b",
            "data": {"path": "t.csv"},
            "target": "y",
            "protected": {"sex": "sex"},
            "data_protection": {"vulnerable_people": True, "large_scale": False},
        },
        base_dir=tmp_path,
    )
    info = {"task": "binary", "features": ["sex", "tenure"], "n_train": 800, "n_test": 200}
    screen = dpia_screen(spec, info)
    assert screen.result == "required"
    assert {c.id for c in screen.met} == {"evaluation_or_scoring", "vulnerable_people"}
    assert "scoring people from sex" in screen.sentence()
    # a person's "false" cannot answer away what civicml sees
    spec2 = spec.model_copy(
        update={
            "data_protection": spec.data_protection.model_copy(
                update={"evaluation_or_scoring": False}
            )
        }
    )
    assert "evaluation_or_scoring" in {c.id for c in dpia_screen(spec2, info).met}
    no_people = dpia_screen(spec, {**info, "features": ["tenure"]})
    assert no_people.result == "advisable"  # one criterion (vulnerable people), others open
