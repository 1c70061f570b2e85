"""The light reads (stdlib sqlite3, no SQLAlchemy) answer exactly as the full storage does.

`mlradar stats` and `mlradar items` are answered by :class:`LiteReads` on a SQLite database
at the newest revision; :class:`Storage` is the reference.  Every case below asks both the
same question of the same database and compares the records whole.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlradar._model import FetchState, ParsedEntry
from mlradar._storage import Storage, open_storage
from mlradar._storage._head import head_revision, sqlite_file
from mlradar._storage._lite import LiteReads
from mlradar.types import PaperId

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _entry(
    key: str, published: datetime | None, arxiv: tuple[str, ...], cats: tuple[str, ...]
) -> ParsedEntry:
    return ParsedEntry(
        key=key,
        url=f"https://example.org/{key}",
        link=None,
        title=f"Post {key}",
        author="Ada" if len(key) % 2 else None,
        summary_html=f"<p>{key}</p>",
        content_html=None if len(key) % 3 else "<p>body</p>",
        text=key,
        categories=cats,
        published_at=published,
        updated_at=None,
        arxiv_ids=arxiv,
        dois=(),
        content_hash=key,
    )


#: One entry: its published time (hours after T0, or none) and the fetch it arrives in.
ENTRIES = st.lists(
    st.tuples(
        st.one_of(st.none(), st.integers(-2000, 2000)),  # published, hours from T0
        st.integers(0, 2),  # which fetch of its source brought it
        st.integers(0, 2),  # which source
        st.sampled_from([(), ("2501.00001",), ("2501.00002", "2501.00001")]),
        st.sampled_from([(), ("ml",), ("ml", "rl")]),
    ),
    max_size=25,
)


def _fill(
    storage: Storage, entries: list[tuple[int | None, int, int, tuple[str, ...], tuple[str, ...]]]
) -> dict[str, int]:
    alice = storage.ensure_user("alice").id
    bob = storage.ensure_user("bob").id
    sources = [
        storage.add_source(alice, "https://a.example/feed", "feed", title="A blog"),
        storage.add_source(alice, "https://b.example/feed", "feed", name="Alice's B"),
        storage.add_source(bob, "https://c.example/feed", "hackernews"),
    ]
    storage.add_source(bob, "https://b.example/feed", "feed", name="Bob's B")
    storage.set_source_tags(sources[0].id, ["blogs"], user_id=alice)
    storage.add_tag(bob, "later", [("arxiv", "2501.00009")])
    storage.ensure_paper(PaperId("arxiv", "2501.00007"))  # a stub: not counted as a paper
    for fetch in range(3):
        when = T0 + timedelta(days=fetch)
        for n, source in enumerate(sources):
            batch = [
                _entry(f"s{n}-{i}", None if pub is None else T0 + timedelta(hours=pub), arxiv, cats)
                for i, (pub, f, src, arxiv, cats) in enumerate(entries)
                if f == fetch and src == n
            ]
            storage.store_entries(source.id, batch, FetchState(when, 200, None, when))
    storage.record_fetch(sources[2].id, FetchState(T0, 500, "server error", T0))
    return {"alice": alice, "bob": bob, **{f"source{n}": s.id for n, s in enumerate(sources)}}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "radar.sqlite"


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    entries=ENTRIES, limit=st.integers(1, 30), since=st.one_of(st.none(), st.integers(-2000, 2500))
)
def test_items_and_stats_equal_the_full_storage(
    tmp_path_factory: pytest.TempPathFactory,
    entries: list[tuple[int | None, int, int, tuple[str, ...], tuple[str, ...]]],
    limit: int,
    since: int | None,
) -> None:
    path = tmp_path_factory.mktemp("lite") / "radar.sqlite"
    storage = open_storage(str(path))
    try:
        ids = _fill(storage, entries)
        lite = LiteReads.open(f"sqlite:///{path}")
        assert lite is not None
        after = None if since is None else T0 + timedelta(hours=since)
        for user in (None, ids["alice"], ids["bob"]):
            assert lite.stats(user) == storage.stats(user)
            for source in (None, ids["source1"], ids["source2"]):
                kwargs = {"limit": limit, "source_id": source, "since": after, "user_id": user}
                assert lite.list_items(**kwargs) == storage.list_items(**kwargs)  # type: ignore[arg-type]
        for name in ("alice", "bob", "nobody"):
            assert lite.find_user(name) == storage.find_user(name)
    finally:
        storage.close()


def test_stub_papers_are_not_counted(db: Path) -> None:
    storage = open_storage(str(db))
    storage.ensure_paper(PaperId("arxiv", "2501.00007"))
    lite = LiteReads.open(str(db))
    assert lite is not None
    assert lite.stats().papers == storage.stats().papers == 0
    storage.close()


def test_the_full_storage_opens_what_the_light_reads_cannot(db: Path, tmp_path: Path) -> None:
    assert LiteReads.open(str(db)) is None  # not there yet: the full storage creates it
    db.write_bytes(b"")
    assert LiteReads.open(str(db)) is None  # 0 bytes: the full storage says what is wrong
    db.unlink()
    open_storage(str(db)).close()
    assert LiteReads.open(str(db)) is not None
    assert LiteReads.open(f"sqlite:///{db}") is not None
    assert LiteReads.open(f"sqlite:///{db}?timeout=5") is None  # options are SQLAlchemy's
    assert LiteReads.open("postgresql://radar@localhost/radar") is None
    assert LiteReads.open("sqlite://") is None
    with sqlite3.connect(db) as conn:  # an older schema must be migrated first
        conn.execute("UPDATE alembic_version SET version_num = '0001'")
    assert LiteReads.open(str(db)) is None
    (tmp_path / "garbage.sqlite").write_bytes(b"not a database at all" * 100)
    assert LiteReads.open(str(tmp_path / "garbage.sqlite")) is None


def test_a_radar_on_the_light_reads_opens_the_full_storage_on_first_write(db: Path) -> None:
    from mlradar import RadarCore, make_radar

    make_radar(str(db)).close()  # created and migrated, with its default user
    with RadarCore.open(str(db)) as core:
        assert core._reads is not None
        radar = core.for_user(core.ensure_user("default"))
        assert radar.stats().sources == 0 and radar.items() == []
        assert callable(core._storage_or_opener)  # nothing has needed it yet
        radar.add_source("https://example.org/feed.xml", discover=False)
        assert not callable(core._storage_or_opener)
        assert radar.stats().sources == 1  # the light reads see the full storage's write


def test_sqlite_file_reads_urls_as_sqlalchemy_does(tmp_path: Path) -> None:
    from sqlalchemy.engine import make_url

    for url in (
        f"sqlite:///{tmp_path}/a.sqlite",
        "sqlite:///relative.sqlite",
        f"sqlite:///{tmp_path}/a.sqlite?timeout=5",
        f"sqlite+pysqlite:///{tmp_path}/b.sqlite",
        str(tmp_path / "plain.sqlite"),
    ):
        expected = make_url(url if "://" in url else f"sqlite:///{url}").database
        assert sqlite_file(url) == Path(str(expected)), url
    assert sqlite_file("sqlite://") is None
    assert sqlite_file("sqlite:///:memory:") is None
    assert sqlite_file("postgresql://x@y/z") is None
    assert head_revision() is not None
