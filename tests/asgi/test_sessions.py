"""The server-side session store: sign-out, the idle timeout, the maximum age, the bound."""

from __future__ import annotations

from civicml.asgi import IDLE_SECONDS, Authenticator, Principal, SessionStore, WebSession


def _clocked(store: SessionStore) -> list[float]:
    now = [1000.0]
    store.clock = lambda: now[0]
    return now


def test_sign_out_forgets_the_session_id_for_good() -> None:
    auth = Authenticator(None, lookup=lambda tid: Principal("ana", ("viewer",), id=tid))
    session = WebSession()
    session.start(auth.open_session(Principal("ana", ("viewer",), id="t1")))
    copied = WebSession(csrf=session.csrf, sid=session.sid)  # a stolen copy of the cookie
    assert auth.session(copied, ["viewer"]) is not None
    auth.close_session(session)
    assert session.sid is None and auth.session(copied, ["viewer"]) is None
    assert len(auth.sessions) == 0


def test_idle_sessions_end_and_active_ones_last_until_the_maximum_age() -> None:
    store = SessionStore(max_age=3000, idle=600)
    now = _clocked(store)
    active, idle = store.open("a"), store.open("b")
    for _ in range(5):  # 49 minutes of requests, 10 s inside the idle limit each time
        now[0] += 590
        assert store.get(active) == "a"
    assert store.get(idle) is None  # nothing for 49 minutes
    now[0] += 100  # 51 minutes after sign-in: over the maximum age, however active
    assert store.get(active) is None
    assert 0 < IDLE_SECONDS <= 3600 and SessionStore().idle == IDLE_SECONDS


def test_the_store_is_bounded_and_drops_ended_sessions_first() -> None:
    store = SessionStore(max_age=3600, idle=600, limit=100)
    now = _clocked(store)
    old = [store.open(i) for i in range(50)]
    now[0] += 601  # the first 50 are idle past the limit
    kept = [store.open(i) for i in range(50)]
    for i in range(1000):
        store.open(i)
        assert len(store) <= 100
    assert all(store.get(sid) is None for sid in old)
    assert len(store) <= 100 and kept
