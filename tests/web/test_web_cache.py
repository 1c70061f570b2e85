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


def test_one_request_computes_an_entry_and_the_others_get_the_last_value_or_wait() -> None:
    import threading

    now = [0.0]
    cache = ViewCache(10, clock=lambda: now[0])
    assert cache.get_or_make(1, "k", lambda: "old") == "old"
    now[0] = 11  # expired
    started, release = threading.Event(), threading.Event()
    made: list[str] = []

    def slow(value: str) -> str:
        made.append(value)
        started.set()
        release.wait(5)
        return value

    got: dict[str, str] = {}
    first = threading.Thread(
        target=lambda: got.update(a=cache.get_or_make(1, "k", lambda: slow("new")))
    )
    first.start()
    assert started.wait(5)
    # While the first request recomputes, another gets the previous value at once.
    assert cache.get_or_make(1, "k", lambda: slow("twice")) == "old"
    # A value nobody has yet is waited for, not computed a second time.
    started.clear()
    waiting = threading.Thread(
        target=lambda: got.update(b=cache.get_or_make(1, "k2", lambda: slow("k2")))
    )
    waiting.start()
    assert started.wait(5)
    second = threading.Thread(
        target=lambda: got.update(c=cache.get_or_make(1, "k2", lambda: "never"))
    )
    second.start()
    release.set()
    for t in (first, waiting, second):
        t.join(5)
    assert got == {"a": "new", "b": "k2", "c": "k2"}
    assert made == ["new", "k2"]
    # Too old to serve while refreshing (two time-to-lives): the caller computes.
    now[0] = 40
    assert cache.get_or_make(1, "k", lambda: "fresh") == "fresh"


def test_a_failed_computation_lets_the_next_request_compute() -> None:
    import pytest

    cache = ViewCache(10, clock=lambda: 0.0)

    def boom() -> str:
        raise RuntimeError("db gone")

    with pytest.raises(RuntimeError):
        cache.get_or_make(1, "k", boom)
    assert cache.get_or_make(1, "k", lambda: "ok") == "ok"
