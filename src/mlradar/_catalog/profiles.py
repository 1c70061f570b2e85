"""Which catalog entries each ``init --profile`` subscribes to.

Only ongoing sources with a feed are followed (blogs, newsletters, forums, channels,
podcasts; not a finished course's playlist), and none known to be gone.  Then:

* ``beginner``: entries for beginners (3Blue1Brown, r/learnmachinelearning, Robert Miles...).
* ``researcher``: those for grad students and researchers (Lil'Log, Off the Convex Path,
  inFERENCe, arg min, BAIR, arXiv...).
* ``news``: everything whose topics include ``news`` (lab blogs, newsletters, Hacker News,
  r/MachineLearning, arXiv, paper-summary channels), whatever the level.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

from mlradar.exceptions import InvalidInputError
from mlradar.types import CatalogEntry, CatalogKind

Profile = Literal["beginner", "researcher", "news"]
PROFILES: tuple[Profile, ...] = get_args(Profile)
# Ongoing sources.  A playlist is a finished course: it has a feed but nothing new comes.
_FOLLOWED_KINDS: frozenset[CatalogKind] = frozenset(
    {"blog", "newsletter", "forum", "video", "podcast", "tool"}
)


def parse_profile(text: str) -> Profile:
    for profile in PROFILES:
        if text.strip().lower() == profile:
            return profile
    raise InvalidInputError(f"unknown profile {text!r}: use {', '.join(PROFILES)}")


def suits(entry: CatalogEntry, profile: Profile) -> bool:
    """Whether ``init --profile`` subscribes to ``entry``'s feed."""
    if entry.feed_url is None or entry.status == "gone" or entry.kind not in _FOLLOWED_KINDS:
        return False
    if profile == "news":
        return "news" in entry.topics
    if profile == "beginner":
        return entry.level == "beginner"
    return entry.level in ("intermediate", "advanced")


def profile_entries(entries: Iterable[CatalogEntry], profile: Profile) -> list[CatalogEntry]:
    return [e for e in entries if suits(e, profile)]


def profile_tag(profile: Profile) -> str:
    """The tag put on the sources a profile subscribes to."""
    return f"catalog/{profile}"
