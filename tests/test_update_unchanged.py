"""Sources with nothing new: their fetches are recorded in batches, and none is lost."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mlradar import make_radar
from mlradar._radar import Radar
from mlradar._update import pipeline
from mlradar.exceptions import StorageError
from tests.feedserver import FeedServer, serving

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {n}</title>
<link>https://example.org/{n}</link><item><title>Post {n}</title>
<link>https://example.org/{n}/post</link><guid>post-{n}</guid></item></channel></rss>"""

#: More than one batch, and not a whole number of them: the last, partial batch must land.
SOURCES = pipeline.FETCH_BATCH + 7


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with serving() as s:
        yield s


@pytest.fixture
def radar(any_db_url: str, server: FeedServer) -> Iterator[Radar]:
    r = make_radar(any_db_url, allow_private_networks=True, total_timeout=10.0)
    for n in range(SOURCES):
        r.add_source(server.add(f"/{n}.xml", RSS.format(n=n).encode()))
    yield r
    r.close()


def fetched_at(radar: Radar) -> dict[int, Any]:
    return {s.id: radar._storage.get_source(s.id).state.last_fetched_at for s in radar.sources()}


def test_every_unchanged_source_has_its_fetch_recorded(radar: Radar) -> None:
    first = radar.update()
    assert first.new == SOURCES and first.failed == 0
    before = fetched_at(radar)
    second = radar.update(force=True)
    assert all(s.not_modified for s in second.sources)
    after = fetched_at(radar)
    assert all(after[i] is not None and after[i] > before[i] for i in before), "a fetch was lost"


def test_a_refused_record_costs_only_its_own_source(
    radar: Radar, monkeypatch: pytest.MonkeyPatch
) -> None:
    radar.update()
    storage = radar._storage
    victim = radar.sources()[3].id
    single, batched = storage.record_fetch, storage.record_fetches

    def refuse_batches(fetches: Any) -> None:
        if len(fetches) > 1:
            raise StorageError("the batch was refused")
        batched(fetches)  # record_fetch writes through here

    def refuse_victim(source_id: int, fetch: Any) -> None:
        if source_id == victim and fetch.error is None:
            raise StorageError("value out of range")
        single(source_id, fetch)

    monkeypatch.setattr(storage, "record_fetches", refuse_batches)
    monkeypatch.setattr(storage, "record_fetch", refuse_victim)
    before = fetched_at(radar)
    radar.update(force=True)
    after = fetched_at(radar)
    assert all(after[i] > before[i] for i in before)
    sources = {s.id: storage.get_source(s.id) for s in radar.sources()}
    errors = {i for i, s in sources.items() if s.state.last_error}
    assert errors == {victim}
    assert "could not be stored: value out of range" in (sources[victim].state.last_error or "")
