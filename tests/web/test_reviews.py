"""The dashboard's review queue: open cases per served model, oldest first, with their age, and
never the text a person wrote when contesting."""

from __future__ import annotations

import datetime as dt
from pathlib import Path


def _queue(folder: Path) -> None:
    from civicml.serve import ReviewQueue

    q = ReviewQueue.open(folder / "review_queue.db")
    case = {"model_version": "3", "model_decision": 1, "caller": "svc", "caller_id": "t1"}
    q.open_cases([{**case, "case_id": "a1"}, {**case, "case_id": "a2"}])
    q.contest(
        "a3", reason="Ms Quinby says her income is wrong", by="svc", case={**case, "case_id": "a3"}
    )
    q.review("a2", decision=1, reason="Agreed", reviewer="ana")
    q.close()


def test_open_cases_with_their_age_and_no_reasons(tmp_path: Path) -> None:
    from civicml.web._app import _templates
    from civicml.web._reviews import review_queues

    _queue(tmp_path / "claims")
    (tmp_path / "other").mkdir()  # a model folder with no queue is not listed
    (view,) = review_queues(tmp_path)
    assert view.model == "claims" and [c.case_id for c in view.cases] == ["a1", "a3"]
    assert [c.why for c in view.cases] == ["needs a reviewer", "contested"]
    assert view.oldest == "under a minute"
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=5)
    from civicml.serve import ReviewQueue

    q = ReviewQueue.open(tmp_path / "claims" / "review_queue.db")
    assert q.queue(now=later)[0]["age_seconds"] >= 5 * 3600
    q.close()
    html = (
        _templates()
        .get_template("reviews.html")
        .render(user=None, csrf_token="x", path="/reviews", govuk=False, queues=[view])
    )
    assert "a1" in html and "contested" in html and "2 open cases" in html
    assert "Quinby" not in html and "a2" not in html
