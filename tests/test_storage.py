"""The storage suite: it runs on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from mlradar._model import FetchState, ParsedEntry
from mlradar._storage import Storage, open_storage
from mlradar._storage.schema import metadata
from mlradar.exceptions import SearchQueryError, SourceExistsError, SourceNotFoundError
from tests.storage_support import me

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def entry(key: str, title: str, text: str = "", **kw: object) -> ParsedEntry:
    fields: dict[str, object] = {
        "key": key,
        "url": f"https://example.org/{key}",
        "link": f"https://example.org/{key}",
        "title": title,
        "author": kw.pop("author", None),
        "summary_html": f"<p>{text}</p>",
        "content_html": None,
        "text": text,
        "categories": (),
        "published_at": kw.pop("published_at", NOW),
        "updated_at": None,
        "arxiv_ids": kw.pop("arxiv_ids", ()),
        "dois": (),
    }
    fields["content_hash"] = hashlib.sha256(repr(sorted(fields.items())).encode()).hexdigest()
    fields.update(kw)
    return ParsedEntry(**fields)  # type: ignore[arg-type]


def fetched(now: datetime = NOW) -> FetchState:
    return FetchState(now, 200, None, now + timedelta(hours=1), state='{"etag": "\\"v1\\""}')


@pytest.fixture
def storage(any_db_url: str) -> Storage:
    st = open_storage(any_db_url)
    yield st  # type: ignore[misc]
    st.close()


def _not_fts(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    # Full-text structures are dialect-specific by design and not in the shared tables.
    return not (name or "").startswith(("items_fts", "papers_fts")) and name not in (
        "search_vector",
        "ix_items_search_vector",
        "ix_papers_search_vector",
        "ix_items_search_rum",  # migration 0012, where the rum extension is available
        "ix_papers_search_rum",
    )


def test_migrated_schema_matches_the_tables(storage: Storage) -> None:
    with storage.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": _not_fts})
        diff = compare_metadata(ctx, metadata)
    assert diff == []


def test_reopening_is_idempotent(any_db_url: str) -> None:
    open_storage(any_db_url).close()
    st = open_storage(any_db_url)
    assert st.stats().sources == 0
    st.close()


def test_sources_add_get_tag_remove(storage: Storage) -> None:
    uid = me(storage)
    s = storage.add_source(uid, "https://a.org/feed", "feed", name="A", tags=["x", "y"])
    assert storage.get_source(s.id, user_id=uid) == s
    assert storage.get_source("A", user_id=uid).id == s.id
    assert storage.get_source("https://a.org/feed", user_id=uid).tags == ("x", "y")
    with pytest.raises(SourceExistsError):
        storage.add_source(uid, "https://a.org/feed", "feed")
    assert storage.set_source_tags(s.id, add=["z"], remove=["x"], user_id=uid).tags == ("y", "z")
    assert [x.id for x in storage.list_sources(tag="z", user_id=uid)] == [s.id]
    storage.remove_source(s.id, user_id=uid)
    with pytest.raises(SourceNotFoundError):
        storage.get_source(s.id)


def test_one_source_is_shared_by_users_who_each_name_and_tag_it(storage: Storage) -> None:
    ada, bob = storage.add_user("ada").id, storage.add_user("bob").id
    a = storage.add_source(ada, "https://a.org/feed", "feed", name="A", tags=["x"])
    b = storage.add_source(
        bob,
        "https://a.org/feed?utm_source=x",
        "feed",
        name="Ours",
        canonical_url="https://a.org/feed",
    )
    assert a.id == b.id  # one source, fetched once
    assert storage.get_source(a.id, user_id=bob).name == "Ours"
    assert storage.get_source(a.id, user_id=bob).tags == ()
    assert storage.list_sources(user_id=ada, tag="x")[0].name == "A"
    assert len(storage.due_sources(NOW, force=True)) == 1
    storage.store_entries(a.id, [entry("1", "shared")], fetched())
    storage.remove_source(a.id, user_id=ada)
    # Bob still follows it: it stays, with its items.
    assert storage.get_source(a.id, user_id=bob).item_count == 1
    with pytest.raises(SourceNotFoundError):
        storage.get_source(a.id, user_id=ada)
    storage.remove_source(a.id, user_id=bob)
    assert storage.list_sources() == []
    assert storage.stats().items == 0


def test_store_is_idempotent_and_updates_in_place(storage: Storage) -> None:
    s = storage.add_source(me(storage), "https://a.org/feed", "feed")
    first = [entry("1", "One", "alpha"), entry("2", "Two", "beta", arxiv_ids=("2503.11677",))]
    assert storage.store_entries(s.id, first, fetched()).new == 2
    again = storage.store_entries(s.id, first, fetched())
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)

    before = {i.key: i.id for i in storage.list_items(source_id=s.id)}
    changed = [first[0], entry("2", "Two, revised", "beta gamma", arxiv_ids=("2401.00001",))]
    counts = storage.store_entries(s.id, changed, fetched())
    assert (counts.new, counts.updated, counts.unchanged) == (0, 1, 1)
    items = {i.key: i for i in storage.list_items(source_id=s.id)}
    assert {k: i.id for k, i in items.items()} == before
    assert items["2"].title == "Two, revised"
    assert items["2"].arxiv_ids == ("2401.00001",)
    assert [i.key for i in storage.list_items(arxiv_id="2401.00001")] == ["2"]
    assert storage.list_items(arxiv_id="2503.11677") == []
    assert storage.source_settings([s.id])[s.id][1] == {"etag": '"v1"'}


def test_a_feed_repeating_a_guid_stores_it_once(storage: Storage) -> None:
    s = storage.add_source(me(storage), "https://a.org/feed", "feed")
    counts = storage.store_entries(s.id, [entry("1", "a"), entry("1", "b")], fetched())
    assert counts.new == 1
    assert storage.stats().items == 1


def test_a_failed_store_leaves_nothing_half_written(storage: Storage) -> None:
    s = storage.add_source(me(storage), "https://a.org/feed", "feed")
    storage.store_entries(s.id, [entry("1", "kept")], fetched())
    naive = entry("2", "bad date", published_at=datetime(2026, 1, 1))
    with pytest.raises(Exception):  # noqa: B017 - any error; the point is the rollback
        storage.store_entries(s.id, [entry("3", "new"), naive], fetched(NOW + timedelta(days=1)))
    assert [i.title for i in storage.list_items(source_id=s.id)] == ["kept"]
    assert storage.get_source(s.id).state.last_fetched_at == NOW


def test_fetch_errors_count_up_and_reset(storage: Storage) -> None:
    s = storage.add_source(me(storage), "https://a.org/feed", "feed")
    for n in (1, 2):
        storage.record_fetch(s.id, FetchState(NOW, 500, "HTTP 500", NOW + timedelta(hours=n)))
        assert storage.get_source(s.id).state.consecutive_errors == n
    assert storage.get_source(s.id).state.last_error == "HTTP 500"
    storage.store_entries(s.id, [entry("1", "x")], fetched())
    st = storage.get_source(s.id).state
    assert (st.consecutive_errors, st.last_error, st.last_status) == (0, None, 200)


def test_search_weights_title_over_text_and_filters(storage: Storage) -> None:
    a = storage.add_source(me(storage), "https://a.org/feed", "feed", name="A")
    b = storage.add_source(me(storage), "https://b.org/feed", "feed", name="B")
    storage.store_entries(
        a.id,
        [
            entry("t", "Diffusion models explained", "a tutorial"),
            entry(
                "x",
                "Other things",
                "we mention diffusion models once here",
                published_at=NOW - timedelta(days=30),
            ),
        ],
        fetched(),
    )
    storage.store_entries(
        b.id, [entry("p", "Score matching", "diffusion and models apart")], fetched()
    )

    hits = storage.search("diffusion models")
    assert hits[0].title == "Diffusion models explained"  # title match outranks text matches
    assert {h.title for h in hits[1:]} == {"Other things", "Score matching"}
    assert "[" in hits[0].snippet or hits[0].snippet
    assert {h.title for h in storage.search('"diffusion models"')} == {
        "Diffusion models explained",
        "Other things",
    }
    assert [h.title for h in storage.search("diffusion", source_ids=[b.id])] == ["Score matching"]
    assert "Other things" not in {
        h.title for h in storage.search("diffusion", since=NOW - timedelta(days=1))
    }
    assert {h.title for h in storage.search("diffusion -tutorial")} == {
        "Other things",
        "Score matching",
    }
    assert {h.title for h in storage.search("tutorial OR matching")} == {
        "Diffusion models explained",
        "Score matching",
    }
    assert storage.search("diffu*")[0].title == "Diffusion models explained"


@pytest.mark.parametrize(
    "query",
    ['"unbalanced', "AND OR NOT", "title:(x", "a NEAR/2 b", "'; DROP TABLE items; --", "*", "é"],
)
def test_no_query_is_a_syntax_error(storage: Storage, query: str) -> None:
    # Either results, or (when nothing searchable is left) a clean, specific error.
    with contextlib.suppress(SearchQueryError):
        storage.search(query)


def test_stats(storage: Storage) -> None:
    s = storage.add_source(me(storage), "https://a.org/feed", "feed", tags=["t"])
    storage.store_entries(
        s.id, [entry("1", "x", arxiv_ids=("2503.11677",)), entry("2", "y")], fetched()
    )
    st = storage.stats()
    assert (st.sources, st.items, st.tags, st.items_linked_to_papers) == (1, 2, 1, 1)


def test_removing_a_source_removes_its_items(storage: Storage) -> None:
    s = storage.add_source(me(storage), "https://a.org/feed", "feed")
    storage.store_entries(s.id, [entry("1", "findme")], fetched())
    storage.remove_source(s.id, user_id=me(storage))
    assert storage.stats().items == 0
    assert storage.search("findme") == []


def test_changed_entry_is_reindexed(storage: Storage) -> None:
    s = storage.add_source(me(storage), "https://a.org/feed", "feed")
    storage.store_entries(s.id, [entry("1", "zebra")], fetched())
    e = replace(entry("1", "quokka"), content_hash="changed")
    storage.store_entries(s.id, [e], fetched())
    assert storage.search("zebra") == []
    assert [h.title for h in storage.search("quokka")] == ["quokka"]
