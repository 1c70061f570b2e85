"""Rows inserted through the driver (``sqlite_insert_returning``) are stored byte for byte as
SQLAlchemy's own INSERT stores them, and every row's returned columns come back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, insert

from mlradar._storage import schema as s
from mlradar._storage._base import sqlite_insert_returning

_MOMENTS = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=-7)), timezone(timedelta(hours=5, minutes=30))]
    ),
)
_TEXT = st.one_of(st.none(), st.text(max_size=30))


def _row(i: int, title: str | None, when: datetime, published: datetime | None) -> dict[str, Any]:
    return {
        "source_id": 1,
        "key": f"id:{i}",
        "url": f"https://example.org/{i}",
        "link": None,
        "title": title,
        "author": "Ada",
        "summary_html": None,
        "content_html": "<p>x</p>",
        "text": title or "",
        "categories": None,
        "published_at": published,
        "updated_at": None,
        "content_hash": f"{i:064x}",
        "points": None if i % 2 else i,
        "comments": None,
        "comments_url": None,
        "first_seen_at": when,
        "last_seen_at": when,
    }


def _stored(rows: list[dict[str, Any]], through_driver: bool) -> list[tuple[Any, ...]]:
    engine = create_engine("sqlite://")
    s.items.create(engine)
    with engine.begin() as conn:
        if through_driver:
            returned = sqlite_insert_returning(conn, s.items, rows, ("id", "key"))
            assert sorted(k for _, k in returned) == sorted(r["key"] for r in rows)
        else:
            conn.execute(insert(s.items), rows)
        raw = conn.exec_driver_sql("SELECT * FROM items ORDER BY key").all()
    return [tuple(r) for r in raw]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(_TEXT, _MOMENTS, st.one_of(st.none(), _MOMENTS)), min_size=1, max_size=40)
)
def test_driver_insert_stores_what_sqlalchemy_stores(
    values: list[tuple[str | None, datetime, datetime | None]],
) -> None:
    rows = [_row(i, title, when, published) for i, (title, when, published) in enumerate(values)]
    assert _stored(rows, True) == _stored(rows, False)


def test_many_rows_span_several_statements() -> None:
    when = datetime(2026, 12, 7, tzinfo=UTC)
    rows = [_row(i, f"t{i}", when, None) for i in range(2_345)]
    assert _stored(rows, True) == _stored(rows, False)


def test_without_returning_the_rows_are_stored_all_the_same() -> None:
    engine = create_engine("sqlite://")
    s.items.create(engine)
    when = datetime(2026, 12, 7, tzinfo=UTC)
    rows = [_row(i, f"t{i}", when, None) for i in range(700)]
    with engine.begin() as conn:
        assert sqlite_insert_returning(conn, s.items, rows) == []
        stored = conn.exec_driver_sql("SELECT * FROM items ORDER BY key").all()
    assert [tuple(r) for r in stored] == _stored(rows, False)
