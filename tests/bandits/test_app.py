from __future__ import annotations

import asyncio

import httpx
import pytest

from civicml.asgi import HashedTokenVerifier, StaticToken, hash_token
from civicml.bandits import bandit_app, open_bandit_store

SALT = "00" * 16


@pytest.fixture
def app(spec):
    store = open_bandit_store("sqlite://")
    store.create_bandit(spec)
    verifier = HashedTokenVerifier(
        {
            hash_token("good", salt=SALT): StaticToken("good", ("predict",)),
            hash_token("viewer", salt=SALT): StaticToken("viewer", ("viewer",)),
        }
    )
    yield bandit_app(store, verifier, seed=0)
    store.close()


def _run(app, calls):
    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return [await client.request(m, u, **kw) for m, u, kw in calls]

    return asyncio.run(go())


AUTH = {"Authorization": "Bearer good"}
CTX = {"context": {"age_under_30": 1, "urban": 0, "missed_before": 1}}


def test_choose_reward_status(app):
    (chosen,) = _run(app, [("POST", "/bandits/letters/choose", {"json": CTX, "headers": AUTH})])
    assert chosen.status_code == 200
    doc = chosen.json()
    assert set(doc) == {"decision_id", "arm", "propensity", "policy_version"}
    assert doc["arm"] in ("plain", "social_norm", "deadline") and doc["propensity"] >= 0.05
    reward = {"decision_id": doc["decision_id"], "reward": 1}
    first, again, changed, bad, unknown, status = _run(
        app,
        [
            ("POST", "/bandits/letters/reward", {"json": reward, "headers": AUTH}),
            ("POST", "/bandits/letters/reward", {"json": reward, "headers": AUTH}),
            ("POST", "/bandits/letters/reward", {"json": {**reward, "reward": 0}, "headers": AUTH}),
            ("POST", "/bandits/letters/reward", {"json": {**reward, "reward": 7}, "headers": AUTH}),
            ("POST", "/bandits/letters/reward",
             {"json": {"decision_id": "nope", "reward": 1}, "headers": AUTH}),
            ("GET", "/bandits/letters", {"headers": AUTH}),
        ],
    )  # fmt: skip
    assert first.status_code == 200 and first.json()["recorded"] is True
    assert again.status_code == 200 and again.json()["recorded"] is False
    assert changed.status_code == 409 and "error" in changed.json()
    assert bad.status_code == 422 and "binary" in bad.json()["error"]
    assert unknown.status_code == 404 and set(unknown.json()) == {"error"}
    body = status.json()
    assert body["decisions"] == 1 and body["rewarded"] == 1
    assert {a["arm"] for a in body["arms"]} == {"plain", "social_norm", "deadline"}


def test_errors_are_json(app):
    responses = _run(
        app,
        [
            ("POST", "/bandits/letters/choose", {"json": CTX}),
            ("POST", "/bandits/letters/choose", {"json": CTX, "headers": {"Authorization": "Bearer x"}}),
            ("POST", "/bandits/letters/choose", {"json": CTX, "headers": {"Authorization": "Bearer viewer"}}),
            ("POST", "/bandits/nobody/choose", {"json": CTX, "headers": AUTH}),
            ("GET", "/bandits/letters/choose", {"headers": AUTH}),
            ("POST", "/bandits/letters/choose", {"content": b"{not json", "headers": AUTH}),
            ("POST", "/bandits/letters/choose", {"json": {"context": {"urban": 1}}, "headers": AUTH}),
            ("POST", "/bandits/letters/reward", {"json": {"reward": 1}, "headers": AUTH}),
            ("POST", "/elsewhere", {"headers": AUTH}),
        ],
    )  # fmt: skip
    assert [r.status_code for r in responses] == [401, 401, 403, 404, 405, 400, 422, 422, 404]
    assert all(set(r.json()) == {"error"} for r in responses)
    assert responses[0].headers["www-authenticate"] == "Bearer"


def test_mounted_under_a_prefix(app):
    async def go():
        transport = httpx.ASGITransport(app=app, root_path="/api")
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.post("/api/bandits/letters/choose", json=CTX, headers=AUTH)

    assert asyncio.run(go()).status_code == 200
