"""The stories pages' data, built once for the HTML pages and the API (as :mod:`.views`).

A story is one paper or link with every mention of it in the user's sources (see
:meth:`mlradar.Radar.stories`).  Stories themselves are shared, but what a user sees of
one is cut to the user's sources by the facade: its mentions, its sums, and whether it
is listed at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from mlradar.exceptions import InvalidInputError
from mlradar.types import Paper, Story
from mlradar.web.views import Page, check_limit, decode_cursor, paginate, parse_since

if TYPE_CHECKING:
    from mlradar._radar import Radar

StorySort = Literal["new", "discussed"]
SORTS: tuple[StorySort, ...] = ("new", "discussed")


@dataclass(frozen=True, slots=True)
class StoriesView:
    """A page of stories and the filters that chose it (what ``mlradar stories`` takes)."""

    sort: StorySort
    since: str | None
    source: str | None
    page: Page[Story]


def _source_ref(value: str) -> int | str:
    # A source is named by id (what the page's select sends), URL or name, as the CLI's.
    return int(value) if value.isdigit() and len(value) < 18 else value


def check_sort(sort: str) -> StorySort:
    if sort == "new":
        return "new"
    if sort == "discussed":
        return "discussed"
    raise InvalidInputError(f"unknown sort {sort!r}: use new or discussed")


def stories(
    radar: Radar,
    *,
    sort: str = "new",
    since: str | None = None,
    source: str | None = None,
    limit: int = 20,
    cursor: str | None = None,
) -> StoriesView:
    """Stories in the user's sources, newest or most discussed first, a page at a time."""
    check_limit(limit)
    offset = decode_cursor(cursor)
    order = check_sort(sort)
    since = since.strip() if since and since.strip() else None
    source = source.strip() if source and source.strip() else None
    found = radar.stories(
        since=parse_since(since),
        sort=order,
        source=_source_ref(source) if source else None,
        limit=offset + limit + 1,
    )
    return StoriesView(order, since, source, paginate(found, offset, limit))


@dataclass(frozen=True, slots=True)
class StoryView:
    """One story, and the stored paper it is about (None: a link, or a paper whose
    metadata is not stored)."""

    story: Story
    paper: Paper | None = None


def story(radar: Radar, story_id: int) -> StoryView:
    """One story with every mention in the user's sources; NotFoundError when the user's
    sources mention no story ``story_id``."""
    found = radar.story(story_id)
    paper = None
    if found.arxiv_id:
        papers = radar.papers([found.arxiv_id])
        paper = papers[0] if papers else None
    return StoryView(found, paper)


__all__ = [
    "SORTS",
    "StoriesView",
    "StorySort",
    "StoryView",
    "check_sort",
    "stories",
    "story",
]
