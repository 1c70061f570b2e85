"""Stories: one per paper or link, with every mention of it and its discussion.

Everything here is a pure decision.  Storage hands in the items a write brings and a
lookup of the stored stories their keys find; :func:`plan_story_joins` says which story
each item joins, which stories an item proves to be one, and what each story's head
(best title, first and last seen) becomes; storage writes that in the same transaction as
the items (:mod:`mlradar._storage._stories`).
"""

from mlradar._stories.join import StoryLookup, plan_story_joins
from mlradar._stories.keys import (
    ItemKeys,
    fold,
    item_keys,
    near_duplicates,
    near_keys,
    title_rank,
)

__all__ = [
    "ItemKeys",
    "StoryLookup",
    "fold",
    "item_keys",
    "near_duplicates",
    "near_keys",
    "plan_story_joins",
    "title_rank",
]
