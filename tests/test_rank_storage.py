"""What the ranking index reads from storage, on SQLite and PostgreSQL alike: texts by id,
what changed since a stamp, and who discusses a paper."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from mlradar._model import FetchState, ParsedEntry, TextRow
from mlradar._papers import store_papers
from mlradar._storage import Storage, open_storage
from mlradar.types import Paper
from tests.storage_support import me


@pytest.fixture
def storage(any_db_url: str) -> Iterator[Storage]:
    st = open_storage(any_db_url)
    yield st
    st.close()


def paper(n: int, abstract: str = "We study things.") -> Paper:
    return Paper(
        arxiv_id=f"2505.{n:05d}",
        title=f"Paper {n}",
        authors=("A. Author",),
        categories=("cs.LG",),
        abstract=abstract,
        first_version_at=date(2025, 5, 1),
        updated_at=date(2025, 5, 1),
    )


def entry(key: str, text: str, arxiv_ids: tuple[str, ...] = ()) -> ParsedEntry:
    return ParsedEntry(
        key=key,
        url=f"https://example.org/{key}",
        link=None,
        title=f"Post {key}",
        author=None,
        summary_html=None,
        content_html=None,
        text=text,
        categories=(),
        published_at=datetime(2025, 5, 2, tzinfo=UTC),
        updated_at=None,
        arxiv_ids=arxiv_ids,
        dois=(),
        content_hash=f"{key}:{text}",
    )


def flat(batches: Iterator[list[tuple[int, str, str, date | None]]]) -> list[int]:
    return [row[0] for batch in batches for row in batch]


def test_changed_papers_are_found_by_their_stamp(storage: Storage) -> None:
    first = datetime.now(UTC)
    store_papers(storage, [paper(n) for n in range(1, 6)])
    ids = storage.paper_db_ids([f"2505.{n:05d}" for n in range(1, 6)])
    time.sleep(0.01)
    stamp = datetime.now(UTC)
    store_papers(storage, [paper(3, "We study something else now.")])
    changed = flat(storage.iter_changed_paper_texts(stamp, up_to_id=10**9))
    assert changed == [ids["2505.00003"]]
    assert flat(storage.iter_changed_paper_texts(stamp, up_to_id=ids["2505.00003"] - 1)) == []
    everything = flat(storage.iter_changed_paper_texts(first - timedelta(minutes=5), 10**9))
    assert everything == sorted(ids.values())
    (row,) = storage.paper_texts([ids["2505.00003"], 10**9])
    assert row == TextRow(
        ids["2505.00003"],
        "Paper 3",
        "We study something else now.",
        date(2025, 5, 1),
        ("A. Author",),
    )
    # Re-importing the same record changes nothing, so it is not stamped again.
    time.sleep(0.01)
    later = datetime.now(UTC)
    store_papers(storage, [paper(3, "We study something else now.")])
    assert flat(storage.iter_changed_paper_texts(later, 10**9)) == []


def test_changed_items_are_found_by_their_stamp(storage: Storage) -> None:
    source = storage.add_source(me(storage), "https://example.org/feed", "feed", name="Example")
    t0 = datetime(2025, 5, 2, tzinfo=UTC)
    storage.store_entries(
        source.id, [entry("a", "one"), entry("b", "two")], FetchState(t0, 200, None, t0)
    )
    assert len([r for b in storage.iter_changed_item_texts(t0, 10**9) for r in b]) == 2
    t1 = t0 + timedelta(hours=1)
    storage.store_entries(
        source.id, [entry("a", "one"), entry("b", "two, edited")], FetchState(t1, 200, None, t1)
    )
    changed = [row for batch in storage.iter_changed_item_texts(t1, 10**9) for row in batch]
    assert [(r[1], r[2]) for r in changed] == [("Post b", "two, edited")]
    assert [r[0] for r in storage.item_texts([changed[0][0]])] == [changed[0][0]]


def test_mention_rows_name_the_items_and_their_sources(storage: Storage) -> None:
    store_papers(storage, [paper(1), paper(2)])
    hn = storage.add_source(me(storage), "https://news.example/rss", "feed", name="HN")
    blog = storage.add_source(me(storage), "https://blog.example/feed", "feed", title="A blog")
    now = datetime(2025, 5, 2, tzinfo=UTC)
    storage.store_entries(
        hn.id,
        [entry("s1", "x", ("2505.00001",)), entry("s2", "y", ("2505.00001", "2505.00002"))],
        FetchState(now, 200, None, now),
    )
    storage.store_entries(
        blog.id, [entry("p1", "z", ("2505.00001",))], FetchState(now, 200, None, now)
    )
    ids = storage.paper_db_ids(["2505.00001", "2505.00002"])
    rows = storage.mention_rows([ids["2505.00001"], ids["2505.00002"], 10**9], me(storage))
    by_paper: dict[int, set[tuple[int, str]]] = {}
    for paper_id, _item, source_id, kind, _url, name in rows:
        assert kind == "feed"
        by_paper.setdefault(paper_id, set()).add((source_id, name))
    assert by_paper == {
        ids["2505.00001"]: {(hn.id, "HN"), (blog.id, "A blog")},
        ids["2505.00002"]: {(hn.id, "HN")},
    }
    assert len([r for r in rows if r[0] == ids["2505.00001"]]) == 3


def test_texts_and_author_lookups_carry_the_authors(storage: Storage) -> None:
    store_papers(
        storage,
        [replace(paper(1), authors=("Rémi Munos", "Ada Lovelace")), replace(paper(2), authors=())],
    )
    ids = storage.paper_db_ids(["2505.00001", "2505.00002"])
    rows = {r.id: r for batch in storage.iter_paper_texts(0) for r in batch}
    assert rows[ids["2505.00001"]].authors == ("Rémi Munos", "Ada Lovelace")
    assert rows[ids["2505.00002"]].authors == ()
    assert storage.paper_authors([*ids.values(), 10**9]) == {
        ids["2505.00001"]: ("Rémi Munos", "Ada Lovelace"),
        ids["2505.00002"]: (),
    }
    source = storage.add_source(me(storage), "https://example.org/feed", "feed", name="Example")
    t0 = datetime(2025, 5, 2, tzinfo=UTC)
    storage.store_entries(
        source.id,
        [replace(entry("a", "one"), author="  Ada   Lovelace "), entry("b", "two")],
        FetchState(t0, 200, None, t0),
    )
    items = {r.title: r for batch in storage.iter_item_texts(0) for r in batch}
    assert items["Post a"].authors == ("Ada Lovelace",)
    assert items["Post b"].authors == ()
    by_id = storage.item_authors([r.id for r in items.values()])
    assert sorted(by_id.values()) == [(), ("Ada Lovelace",)]
    assert storage.item_texts([items["Post a"].id])[0].authors == ("Ada Lovelace",)
