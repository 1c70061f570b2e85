"""A large update indexes its items for search in batches (SQLite), and search misses
none of them once the run ends, nor after a run killed in the middle."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

import mlradar._radar._core as core
import mlradar._storage._bulk as core_bulk
from mlradar import make_radar
from mlradar._model import FetchState
from mlradar._radar import Radar
from mlradar.types import SourceUpdate
from tests.feedserver import FeedServer, serving
from tests.test_stories import entry

FEEDS = 12  # at least FTS_DEFER_SOURCES


def word(n: int) -> str:
    return "zq" + "".join("abcdefghij"[int(d)] for d in f"{n:03d}")


def rss(n: int) -> str:
    items = "".join(
        f"<item><guid>{n}-{i}</guid><title>Post {i} of feed {n}</title>"
        f"<link>https://blog{n}.example/{i}</link>"
        f"<description>A post that mentions {word(n)} and {word(100 + i)}.</description></item>"
        for i in range(3)
    )
    channel = f"<channel><title>F{n}</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with serving() as s:
        yield s


@pytest.fixture
def radar(any_db_url: str) -> Iterator[Radar]:
    r = make_radar(any_db_url, allow_private_networks=True, total_timeout=5.0)
    yield r
    r.close()


def found(radar: Radar, n: int) -> int:
    return sum(1 for h in radar.search(word(n), limit=50) if h.kind == "item")


def fts_exact(radar: Radar) -> None:
    """SQLite: the items' FTS5 index is consistent and holds every item."""
    url = radar._settings.database_url
    if not url.startswith("sqlite"):
        return
    with sqlite3.connect(url.split("///", 1)[1]) as conn:
        conn.execute("INSERT INTO items_fts(items_fts) VALUES('integrity-check')")
        indexed = conn.execute("SELECT count(*) FROM items_fts_docsize").fetchone()[0]
        stored = conn.execute("SELECT count(*) FROM items").fetchone()[0]
    assert indexed == stored


def test_every_item_of_a_large_run_is_searchable_when_it_ends(
    server: FeedServer, radar: Radar
) -> None:
    for n in range(FEEDS):
        radar.add_source(server.add(f"/{n}.xml", rss(n), content_type="application/rss+xml"))
    summary = radar.update()
    assert (summary.new, summary.failed) == (3 * FEEDS, 0)
    assert all(found(radar, n) == 3 for n in range(FEEDS))
    assert not radar._storage.item_fts_deferred()
    fts_exact(radar)
    # Changed entries are indexed again by the ordinary triggers, as before.
    server.add("/0.xml", rss(0).replace(word(0), word(99)), content_type="application/rss+xml")
    assert radar.update(force=True).updated == 3
    assert (found(radar, 0), found(radar, 99)) == (0, 3)
    fts_exact(radar)


def test_search_sees_a_running_update_at_each_catch_up(
    server: FeedServer, radar: Radar, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(core, "FTS_CATCH_UP_SOURCES", 3)
    urls = {}
    for n in range(FEEDS):
        url = server.add(f"/{n}.xml", rss(n), content_type="application/rss+xml")
        radar.add_source(url)
        urls[url] = n
    seen: list[tuple[int, int]] = []

    def progress(update: SourceUpdate) -> None:
        seen.append((urls[update.url], found(radar, urls[update.url])))

    radar.update(progress=progress)
    hits = [h for _n, h in seen]
    if radar._storage.dialect == "sqlite":
        # A source's items are searchable from the next catch-up (every 3 sources here).
        assert hits[0] == 0
        assert hits[2::3] == [3] * (FEEDS // 3)
    else:
        assert hits == [3] * FEEDS  # PostgreSQL indexes each row as it is written


def test_a_run_killed_while_deferred_is_caught_up_by_the_next_run(
    server: FeedServer, radar: Radar
) -> None:
    storage = radar._storage
    killed = radar.add_source(server.add("/0.xml", rss(0), content_type="application/rss+xml"))
    # What a killed run leaves: the deferral, and items committed above its mark.
    deferred = storage.defer_item_fts()
    now = datetime.now(UTC)
    storage.store_entries(
        killed.id,
        [entry(f"k{i}", url=f"https://k.example/{i}", title=f"kept {word(7)}") for i in range(4)],
        FetchState(now, 200, None, now),
    )
    assert storage.item_fts_deferred() == deferred
    assert found(radar, 7) == (0 if deferred else 4)  # unsearchable until caught up
    # The next run, even one source (too few to defer), ends the deferral.
    radar.add_source(server.add("/1.xml", rss(1), content_type="application/rss+xml"))
    radar.update()
    assert not storage.item_fts_deferred()
    assert (found(radar, 7), found(radar, 1)) == (4, 3)
    fts_exact(radar)


def test_a_large_run_checkpoints_its_wal_less_often_and_only_while_it_runs(
    db_url: str, server: FeedServer
) -> None:
    with make_radar(db_url, allow_private_networks=True) as radar:
        storage = radar._storage

        def pages() -> int:
            with storage.begin() as conn:
                return int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() or 0)

        for n in range(FEEDS):
            radar.add_source(server.add(f"/{n}.xml", rss(n), content_type="application/rss+xml"))
        during: list[int] = []
        radar.update(progress=lambda _update: during.append(pages()))
        assert set(during) == {core_bulk.UPDATE_WAL_AUTOCHECKPOINT}
        assert pages() == 1000  # SQLite's default again after the run
        radar.update(["1"], force=True)  # one source: too few to defer anything
        assert pages() == 1000
