"""The per-user view cache: entries live for their time, per user, and a user's write
drops theirs (through any unsafe request)."""

from __future__ import annotations

from mlradar.web.cache import ViewCache
from tests.web.support import Harness


def test_entries_expire_and_are_per_user() -> None:
    now = [0.0]
    cache = ViewCache(10, clock=lambda: now[0], max_entries=3)
    calls: list[str] = []

    def make(tag: str) -> str:
        calls.append(tag)
        return tag

    assert cache.get_or_make(1, "k", lambda: make("a")) == "a"
    assert cache.get_or_make(1, "k", lambda: make("b")) == "a"
    assert cache.get_or_make(2, "k", lambda: make("c")) == "c"  # another user's own entry
    now[0] = 11
    assert cache.get_or_make(1, "k", lambda: make("d")) == "d"
    cache.forget_user(1)
    assert cache.get_or_make(1, "k", lambda: make("e")) == "e"
    assert cache.get_or_make(2, "k", lambda: make("f")) == "f"  # user 2's expired too
    for n in range(5):
        cache.get_or_make(3, n, lambda: make("g"))
    assert len(cache._entries) == 3
    assert ViewCache(0).get_or_make(1, "k", lambda: make("h")) == "h"
    assert calls == ["a", "c", "d", "e", "f", "g", "g", "g", "g", "g", "h"]


def test_a_write_through_the_app_shows_at_once(web: Harness) -> None:
    c = web.bearer("alice")
    before = c.get("/api/v1/queue/new").json()["page"]["items"]
    assert c.get("/api/v1/queue/new").json()["page"]["items"] == before
    assert web.app.state.cache.hits >= 1
    c.post("/api/v1/actions", json={"action": "tag", "ids": ["2505.00001"], "tag": "gen"})
    assert c.get("/api/v1/queue/foryou").json()["page"]["items"]  # ranked now, not cached
