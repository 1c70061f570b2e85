"""The stories part of the facade: one story per paper or link, with its mentions.

Stories are kept by storage as items are written (the join is decided by
:mod:`mlradar._stories`, which the core hands to storage: see :func:`decide_stories`);
this part lists them and runs the backfill that migration 0007 triggers for items stored
before stories existed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from mlradar._model import StoryInput, StoryPlan
from mlradar._radar._base import RadarBase
from mlradar.exceptions import InvalidInputError, NotFoundError
from mlradar.types import Item, Mention, Story

#: Items joined per backfill transaction.
BACKFILL_BATCH = 2000


def decide_stories(inputs: Sequence[StoryInput], lookup: Any) -> StoryPlan:
    """The story join storage calls inside its item writes (imported on first use: a
    command that writes no items should not pay for rapidfuzz)."""
    from mlradar._stories import plan_story_joins

    return plan_story_joins(inputs, lookup)


def backfill_stories(storage: Any) -> int:
    """Join every stored item that is in no story yet (after migration 0007), in
    resumable batches; a no-op once done.  Returns the items joined."""
    if not storage.stories_need_backfill():
        return 0
    total = 0
    while n := storage.backfill_stories(BACKFILL_BATCH):
        total += n
    return total


def mention_of(item: Item) -> Mention:
    """An item as a mention of its paper or story."""
    return Mention(
        source=item.source_name,
        kind=item.source_kind,
        url=item.url,
        title=item.title,
        published=item.published_at or item.first_seen_at,
        points=item.points,
        comments=item.comments,
        comments_url=item.comments_url,
        item_id=item.id,
        source_id=item.source_id,
    )


class StoriesMixin(RadarBase):
    def stories(
        self,
        *,
        since: datetime | None = None,
        sort: Literal["new", "discussed"] = "new",
        source: int | str | None = None,
        limit: int = 20,
    ) -> list[Story]:
        """Stories mentioned in the user's sources: newest (last seen) first, or most
        ``discussed`` first (summed points and comments, then independent sources);
        ``since`` keeps those last seen since then, ``source`` those it mentions."""
        if sort not in ("new", "discussed"):
            raise InvalidInputError(f"unknown sort {sort!r}: use 'new' or 'discussed'")
        source_id = None
        if source is not None:
            source_id = self.source(source).id  # type: ignore[attr-defined]
        backfill_stories(self._storage)
        return self._storage.list_stories(
            user_id=self._user_id, since=since, sort=sort, source_id=source_id, limit=limit
        )

    def story(self, story_id: int) -> Story:
        """One story with every mention in the user's sources; NotFoundError if none."""
        backfill_stories(self._storage)
        found = self._storage.list_stories(user_id=self._user_id, story_id=story_id, limit=1)
        if not found:
            raise NotFoundError(f"no story {story_id}")
        return found[0]

    def story_of(self, *, item_id: int | None = None, arxiv_id: str | None = None) -> int | None:
        """The id of the story an item is in, or of the newest story about a paper, when
        the user's sources mention it (None otherwise): what an item's or a paper's page
        links to.  One indexed lookup, no sums."""
        if (item_id is None) == (arxiv_id is None):
            raise InvalidInputError("name an item or a paper")
        backfill_stories(self._storage)
        return self._storage.story_of(user_id=self._user_id, item_id=item_id, arxiv_id=arxiv_id)
