"""A small radar for digests and feeds out: papers on three topics (one tagged), a blog
with posts (one hostile), and a discussion source with points and comments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mlradar._model import DiscussionSignal, FetchState, ParsedEntry
from mlradar._papers import store_papers
from mlradar._radar import Radar
from tests.test_library import START, make_papers

#: The period every test composes: the papers' four listing days and the day after.
SINCE, UNTIL = START, START + timedelta(days=4)
HOSTILE_TITLE = 'Pwn <script>alert("t")</script> [x](javascript:alert(1)) \x01\x0b *bold*'
HOSTILE_HTML = (
    '<p onclick="alert(1)">Hi <img src=x onerror=alert(2)>'
    '<script>alert(3)</script><a href="javascript:alert(4)">link</a></p>'
)


def entry(
    key: str,
    title: str,
    when: datetime,
    *,
    url: str | None = None,
    summary: str | None = None,
    points: int | None = None,
    comments: int | None = None,
    arxiv: tuple[str, ...] = (),
    author: str | None = None,
) -> ParsedEntry:
    talk = (
        DiscussionSignal(
            points=points, comments=comments, comments_url=f"https://news.example/{key}"
        )
        if points is not None or comments is not None
        else None
    )
    return ParsedEntry(
        key=f"id:{key}",
        url=url or f"https://blog.example/{key}",
        link=None,
        title=title,
        author=author,
        summary_html=summary,
        content_html=summary,
        text=f"{title} {summary or ''}",
        categories=("notes",),
        published_at=when,
        updated_at=None,
        arxiv_ids=arxiv,
        dois=(),
        content_hash=key,
        discussion=talk,
    )


def fill(radar: Radar, monkeypatch: pytest.MonkeyPatch) -> None:
    """Papers tagged on one topic, a blog, and a discussed source, all in the period."""
    store_papers(radar._storage, make_papers())
    day = datetime.combine(START + timedelta(days=2), datetime.min.time(), tzinfo=UTC)
    blog = radar._storage.add_source(
        radar._user_id, "https://blog.example/feed.xml", "feed", name="Zebra Blog"
    )
    radar._storage.store_entries(
        blog.id,
        [
            entry("p1", "Notes on denoising", day, author="Ada"),
            entry("p2", HOSTILE_TITLE, day + timedelta(hours=1), summary=HOSTILE_HTML),
            entry("old", "Long ago", day - timedelta(days=30)),
        ],
        FetchState(day, 200, None, day),
    )
    news = radar._storage.add_source(radar._user_id, "echo:news", "hackernews", name="HN")
    radar._storage.store_entries(
        news.id,
        [
            entry("s1", "A quiet story", day, points=3, comments=1),
            entry("s2", "A loud story", day, points=400, comments=120, arxiv=("2505.00001",)),
        ],
        FetchState(day, 200, None, day),
    )
    radar.sync_rank_index()
    radar.tag("diffusion", ["2505.00001", "2505.00002"])
    monkeypatch.setattr(type(radar), "_today", staticmethod(lambda: UNTIL))
