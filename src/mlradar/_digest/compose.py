"""Composing a digest: pure, from records the facade has read."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from mlradar._content.html import html_to_text
from mlradar.types import (
    Digest,
    DigestEntry,
    DigestSection,
    Item,
    LearningPath,
    Recommendation,
)

#: Characters of an abstract or post kept as an entry's summary.
SUMMARY_CHARS = 240
#: Entries a section shows at most.
SECTION_LIMIT = 10
TITLES = {
    "recommended": "Recommended papers",
    "discussed": "Most discussed",
    "posts": "New posts from your blogs and newsletters",
    "path": "Your learning path",
}


@dataclass(frozen=True, slots=True)
class DigestInputs:
    """What a digest is made of, read by the facade for one user and window."""

    user: str
    since: date
    until: date
    created_at: datetime
    recommended: Sequence[Recommendation] = ()
    abstracts: Mapping[str, str] = field(default_factory=dict)
    """Abstracts of the recommended papers, by arXiv id (for their summaries)."""
    discussed: Sequence[Item] = ()
    posts: Sequence[Item] = ()
    path: LearningPath | None = None
    notes: Mapping[str, str] = field(default_factory=dict)
    """Why a section is empty, by section kind (``recommended``: nothing to learn from)."""


def shorten(text: str, limit: int = SUMMARY_CHARS) -> str:
    """``text`` on one line, cut at a word boundary with an ellipsis past ``limit``."""
    flat = _one_line(text)
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:") + "…"


#: Control characters (C0 but tab and newlines, DEL, C1): nothing a reader should get.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _one_line(text: str) -> str:
    return " ".join(_CONTROL.sub("", text).split())


def _talk(item: Item) -> str:
    parts = []
    if item.points is not None:
        parts.append(f"{item.points} point{'' if item.points == 1 else 's'}")
    if item.comments is not None:
        parts.append(f"{item.comments} comment{'' if item.comments == 1 else 's'}")
    where = f" on {item.source_name}" if item.source_name else ""
    return (" and ".join(parts) or "discussed") + where


def _item_summary(item: Item) -> str | None:
    text = html_to_text(item.summary_html or item.content_html or "")
    return shorten(text) if text else None


def _recommended(inputs: DigestInputs) -> DigestSection:
    entries = []
    for rec in inputs.recommended[:SECTION_LIMIT]:
        abstract = inputs.abstracts.get(rec.arxiv_id or "", "")
        entries.append(
            DigestEntry(
                kind=rec.kind,
                ref=rec.arxiv_id or str(rec.item_id),
                title=_one_line(rec.title),
                reason=_one_line(rec.reason),
                url=rec.url,
                date=rec.date,
                summary=shorten(abstract) if abstract else None,
            )
        )
    note = inputs.notes.get("recommended")
    if not entries and note is None:
        note = "nothing new to recommend in this period"
    return DigestSection("recommended", TITLES["recommended"], tuple(entries), note)


def _item_entry(item: Item, reason: str, url: str | None) -> DigestEntry:
    return DigestEntry(
        kind="item",
        ref=str(item.id),
        title=_one_line(item.title or item.url or f"item {item.id}"),
        reason=reason,
        url=url,
        source=item.source_name,
        date=item.date.date(),
        summary=_item_summary(item),
    )


def _discussed(inputs: DigestInputs) -> DigestSection:
    entries = []
    for item in inputs.discussed[:SECTION_LIMIT]:
        reason = _talk(item)
        if item.arxiv_ids:
            reason += f"; about arXiv {', '.join(item.arxiv_ids[:3])}"
        entries.append(_item_entry(item, reason, item.comments_url or item.url))
    note = inputs.notes.get("discussed")
    if not entries and note is None:
        note = "no discussion in your sources in this period"
    return DigestSection("discussed", TITLES["discussed"], tuple(entries), note)


def _posts(inputs: DigestInputs) -> DigestSection:
    entries = []
    for item in inputs.posts[:SECTION_LIMIT]:
        reason = f"new on {item.source_name}"
        if item.author:
            reason += f", by {_one_line(item.author)}"
        entries.append(_item_entry(item, reason, item.url))
    note = inputs.notes.get("posts")
    if not entries and note is None:
        note = "no new posts from the blogs and newsletters you follow"
    return DigestSection("posts", TITLES["posts"], tuple(entries), note)


def _path(inputs: DigestInputs) -> DigestSection:
    path = inputs.path
    step = path.next_step if path is not None else None
    if path is None or step is None:
        note = inputs.notes.get("path") or (
            "every step of your path is done" if path is not None and path.steps else None
        )
        return DigestSection("path", TITLES["path"], (), note or "no learning path yet")
    total = len(path.steps)
    if path.done_count:
        reason = f"your next step ({path.done_count} of {total} done), stage {step.stage}"
    else:
        reason = f"the first step of a {total}-step path, stage {step.stage}"
    entry = DigestEntry(
        kind="step",
        ref=step.slug,
        title=_one_line(step.name),
        reason=reason,
        url=step.url,
        summary=shorten(step.description) if step.description else None,
    )
    return DigestSection("path", TITLES["path"], (entry,), inputs.notes.get("path"))


def compose_digest(inputs: DigestInputs) -> Digest:
    """The digest of ``inputs``: recommended papers, the most discussed stories, new posts,
    the next learning-path step; each entry with one line on why it is there."""
    sections = (_recommended(inputs), _discussed(inputs), _posts(inputs), _path(inputs))
    return Digest(
        user=inputs.user,
        since=inputs.since,
        until=inputs.until,
        sections=sections,
        created_at=inputs.created_at,
    )


__all__ = ["SECTION_LIMIT", "DigestInputs", "compose_digest", "shorten"]
