"""Migrations carry databases made by earlier versions over losslessly, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import command

from mlradar._papers import store_papers
from mlradar._storage import open_storage
from mlradar._storage._engine import _alembic_config, make_engine
from mlradar.types import Paper, PaperId


def _at_revision(url: str, revision: str) -> sa.Engine:
    engine = make_engine(url)
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return engine


def test_0005_papers_beyond_arxiv_keeps_every_paper_and_library_entry(any_db_url: str) -> None:
    engine = _at_revision(any_db_url, "0004")
    now = datetime(2025, 3, 1, tzinfo=UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        for n, (arxiv_id, doi) in enumerate(
            [("2503.00001", "10.1000/ONE"), ("2503.00002", None), ("hep-th/9901001", "10.1/x")]
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO papers (arxiv_id, title, authors, categories, abstract, "
                    "doi, versions, first_version_at, content_hash, stored_at) VALUES "
                    "(:a, :t, '[\"Ada Lovelace\"]', 'cs.LG', :ab, :doi, '[[1, null]]', "
                    ":day, :h, :now)"
                ),
                {
                    "a": arxiv_id,
                    "t": f"Zebracorn study {n}",
                    "ab": "We herd zebracorns.",
                    "doi": doi,
                    "day": date(2025, 3, 1),
                    "h": f"hash{n}",
                    "now": now,
                },
            )
        user = conn.execute(
            sa.text("INSERT INTO users (name, created_at) VALUES ('ada', :n) RETURNING id"),
            {"n": now},
        ).scalar_one()
        for table, extra in (
            ("user_tags", {"tag": "zoo", "created_at": now}),
            ("user_reactions", {"reaction": "like", "created_at": now}),
            ("user_reads", {"read_at": now}),
        ):
            for ref in ("2503.00002", "2599.99999"):  # stored, and never stored
                columns = ", ".join(["user_id", "kind", "ref", *extra])
                values = ", ".join([":u", "'paper'", ":r", *(f":{k}" for k in extra)])
                conn.execute(
                    sa.text(f"INSERT INTO {table} ({columns}) VALUES ({values})"),
                    {"u": user, "r": ref, **extra},
                )
    engine.dispose()

    storage = open_storage(any_db_url)  # migrates to the head
    try:
        assert storage.count_papers() == 3
        assert storage.get_paper("2503.00001") is not None
        by_doi = storage.get_paper(PaperId("doi", "10.1000/one"))
        assert by_doi is not None and by_doi.arxiv_id == "2503.00001"
        # Library entries point at papers by id now; the never-stored one became a stub.
        stored = storage.paper_ids_for([PaperId("arxiv", "2503.00002")])
        stub = storage.paper_ids_for([PaperId("arxiv", "2599.99999")])
        refs = {
            str(stored[PaperId("arxiv", "2503.00002")]),
            str(stub[PaperId("arxiv", "2599.99999")]),
        }
        assert {r for _t, _k, r in storage.tagged(1)} == refs
        assert {r for _k, r, _x in storage.reactions(1)} == refs
        assert {r for _k, r in storage.read_refs(1)} == refs
        assert storage.get_paper("2599.99999") is None  # a stub: no record yet
        # Search still finds the old rows, and new ones are indexed (triggers recreated).
        assert {h.ref for h in storage.search("zebracorn", kinds=("paper",))} == {
            "2503.00001",
            "2503.00002",
            "hep-th/9901001",
        }
        store_papers(
            storage,
            [
                Paper(
                    arxiv_id=None,
                    title="Zebracorn herding at scale",
                    authors=("Grace Hopper",),
                    categories=(),
                    abstract="",
                    first_version_at=None,
                    updated_at=None,
                    ids=(PaperId("openreview", "Zz1"),),
                )
            ],
        )
        assert len(storage.search("zebracorn", kinds=("paper",))) == 4
    finally:
        storage.close()


def test_the_head_read_from_the_files_is_alembics() -> None:
    # Opening a database at the head skips importing Alembic; the two must agree.
    from alembic.script import ScriptDirectory

    from mlradar._storage._engine import head_revision

    assert head_revision() == ScriptDirectory.from_config(_alembic_config()).get_current_head()


def test_0010_digests_feeds_worker_adds_tables_and_keeps_everything(any_db_url: str) -> None:
    engine = _at_revision(any_db_url, "0006")
    now = datetime(2025, 3, 1, tzinfo=UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO users (name, created_at) VALUES ('ada', :n)"), {"n": now})
        conn.execute(
            sa.text("INSERT INTO user_state (user_id, key, value) VALUES (1, 'digest:*', :v)"),
            {"v": "2025-02-22/2025-02-28"},
        )
    engine.dispose()
    storage = open_storage(any_db_url)
    try:
        (ada,) = storage.list_users()
        assert ada.name == "ada"
        assert storage.get_user_state(ada.id, "digest:*") == "2025-02-22/2025-02-28"
        assert storage.list_digests(ada.id) == [] and storage.list_feed_tokens(ada.id) == []
        assert storage.digest_schedules() == [] and storage.last_update_run() is None
    finally:
        storage.close()


def test_0012_rum_indexes_are_added_where_possible_and_lose_nothing(any_db_url: str) -> None:
    engine = _at_revision(any_db_url, "0011")
    now = datetime(2025, 3, 1, tzinfo=UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        for n in range(3):
            conn.execute(
                sa.text(
                    "INSERT INTO papers (arxiv_id, title, authors, categories, abstract, "
                    "versions, first_version_at, content_hash, stored_at) VALUES "
                    "(:a, :t, '[\"Ada Lovelace\"]', 'cs.LG', 'We herd zebracorns.', "
                    "'[[1, null]]', :day, :h, :now)"
                ),
                {
                    "a": f"2503.0000{n}",
                    "t": f"Zebracorn segmentation {n}",
                    "day": date(2025, 3, 1),
                    "h": f"hash{n}",
                    "now": now,
                },
            )
        rum_available = engine.dialect.name == "postgresql" and bool(
            conn.scalar(sa.text("SELECT count(*) FROM pg_available_extensions WHERE name = 'rum'"))
        )
    engine.dispose()

    def rum_indexes() -> set[str]:
        if engine.dialect.name != "postgresql":
            return set()
        with make_engine(any_db_url).connect() as conn:
            return set(
                conn.scalars(
                    sa.text("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%_search_rum'")
                )
            )

    storage = open_storage(any_db_url)
    try:
        assert rum_indexes() == (
            {"ix_items_search_rum", "ix_papers_search_rum"} if rum_available else set()
        )
        assert storage._fts_rum() == rum_available
        for query in ("zebracorns", "zebracorn segment*", '"zebracorn segmentation"'):
            hits = storage.search(query, kinds=("paper",))
            assert sorted(h.ref for h in hits) == ["2503.00000", "2503.00001", "2503.00002"]
    finally:
        storage.close()
    cfg = _alembic_config()
    engine = make_engine(any_db_url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0011")
    engine.dispose()
    assert rum_indexes() == set()
    with make_engine(any_db_url).connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM papers")) == 3
