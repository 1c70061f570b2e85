"""Feeds out: every list view of a user as an Atom feed, and the tokens of private feeds.

A view reads what its list shows (through the same methods the CLI and the web pages
call) and :mod:`mlradar._feedsout` writes Atom.  A private feed's URL carries a token: its
hash is stored, the token itself is shown once, and revoking it closes the feed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote

from mlradar._radar._digests import DigestsMixin
from mlradar._radar._recommend import DIGEST_DAYS
from mlradar.exceptions import FeedTokenError, InvalidInputError, NotFoundError
from mlradar.types import (
    Digest,
    FeedToken,
    FeedView,
    Item,
    NewFeedToken,
    Paper,
    Recommendation,
    SearchHit,
)

if TYPE_CHECKING:
    from mlradar._feedsout import OutEntry

#: Entries a feed carries.
FEED_LIMIT = 50
#: A token's last use is written at most this often (a reader polls every few minutes).
TOUCH_EVERY = timedelta(hours=1)


def _day_time(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time.min, tzinfo=UTC)


def _item_entry(item: Item) -> OutEntry:
    from mlradar._content.html import html_to_text
    from mlradar._digest.compose import shorten
    from mlradar._feedsout import OutEntry

    summary = html_to_text(item.summary_html or "") or None
    return OutEntry(
        id=f"tag:mlradar,2026:item/{item.id}",
        title=item.title or item.url or f"item {item.id}",
        updated=item.updated_at or item.published_at or item.first_seen_at,
        published=item.published_at,
        link=item.url,
        summary=shorten(summary, 600) if summary else None,
        content_html=item.content_html,
        author=item.author,
        categories=item.categories,
    )


def _paper_entry(paper: Paper, note: str | None = None) -> OutEntry:
    from mlradar._feedsout import OutEntry

    day = paper.updated_at or paper.first_version_at
    summary = paper.abstract if note is None else f"{note}\n\n{paper.abstract}"
    return OutEntry(
        id=paper.abs_url or f"tag:mlradar,2026:paper/{paper.ref}",
        title=paper.title,
        updated=_day_time(day) or datetime(1970, 1, 1, tzinfo=UTC),
        published=_day_time(paper.first_version_at),
        link=paper.abs_url,
        summary=summary,
        author=", ".join(paper.authors[:20]) or None,
        categories=paper.categories,
    )


class FeedsOutMixin(DigestsMixin):
    # -- Atom ------------------------------------------------------------------------------

    def atom_feed(self, view: FeedView, *, self_url: str | None = None) -> bytes:
        """The Atom document of one of the user's list views: ``new``, ``for-you``,
        ``discussed``, ``tag``/``search``/``source`` (with their argument), ``digest``
        (an archived digest's id; none: the newest).  Parses with any feed reader.

        ``self_url`` is the address the reader fetched it from (the web app's private
        URL, token included): a reader that follows the feed's ``rel="self"`` link must
        land on a URL that works.  None: the public URL's ``/feeds/VIEW`` path."""
        from mlradar._feedsout import build_atom, parse_view

        view = parse_view(view.kind, view.arg)
        title, subtitle, entries = self._view_entries(view)
        base = self._settings.public_url.rstrip("/")
        path = f"/feeds/{view.kind}" + (f"/{quote(view.arg, safe='')}" if view.arg else "")
        return build_atom(
            feed_id=f"tag:mlradar,2026:{quote(self.user, safe='')}/{view.kind}"
            + (f"/{quote(view.arg, safe='')}" if view.arg else ""),
            title=f"mlradar: {title}",
            subtitle=subtitle,
            entries=entries,
            self_url=self_url or base + path,
            alternate_url=base + "/",
        )

    def _view_entries(self, view: FeedView) -> tuple[str, str | None, list[OutEntry]]:
        arg = view.arg or ""
        if view.kind == "new":
            return "new", None, [_item_entry(i) for i in self.items(limit=FEED_LIMIT)]
        if view.kind == "source":
            source = self.source(arg)
            items = self.items(source=source.id, limit=FEED_LIMIT)
            return source.display_name, None, [_item_entry(i) for i in items]
        if view.kind == "discussed":
            since = datetime.now(UTC) - timedelta(days=DIGEST_DAYS)
            items = self._storage.discussed_items(self._user_id, since, limit=FEED_LIMIT)
            return (
                "most discussed",
                "the last week's most discussed",
                [_item_entry(i) for i in items],
            )
        if view.kind == "search":
            return f"search {arg}", None, self._hit_entries(self.search(arg, limit=FEED_LIMIT))
        if view.kind == "tag":
            return f"tag {arg}", None, self._tag_entries(arg)
        if view.kind == "for-you":
            return "for you", *self._for_you()
        return self._digest_entries(view.arg)

    def _papers_by_ref(self, refs: Sequence[str]) -> dict[str, Paper]:
        return {p.ref: p for p in self.papers(refs)} if refs else {}

    def _hit_entries(self, hits: Sequence[SearchHit]) -> list[OutEntry]:
        papers = self._papers_by_ref([h.ref for h in hits if h.kind == "paper"])
        out: list[OutEntry] = []
        for hit in hits:
            if hit.kind == "paper" and hit.ref in papers:
                out.append(_paper_entry(papers[hit.ref]))
            elif hit.kind == "item":
                try:
                    out.append(_item_entry(self.item(int(hit.ref))))
                except (NotFoundError, ValueError):
                    continue
        return out

    def _tag_entries(self, tag: str) -> list[OutEntry]:
        entries = self.library(tag)[:FEED_LIMIT]
        papers = self._papers_by_ref([e.ref for e in entries if e.kind == "paper"])
        out: list[OutEntry] = []
        for e in entries:
            if e.kind == "paper" and e.ref in papers:
                out.append(_paper_entry(papers[e.ref]))
            elif e.kind == "item" and e.ref.isdigit():
                try:
                    out.append(_item_entry(self.item(int(e.ref))))
                except NotFoundError:
                    continue
        return out

    def _for_you(self) -> tuple[str | None, list[OutEntry]]:
        today = self._today()
        try:
            recs = self.recommend(
                since=today - timedelta(days=DIGEST_DAYS - 1), until=today, limit=FEED_LIMIT
            )
            if not recs and (newest := self.newest_window()) is not None:
                recs = self.recommend(since=newest[0], until=newest[1], limit=FEED_LIMIT)
        except (InvalidInputError, NotFoundError) as exc:
            return str(exc), []
        return "recommended for you, with the reason for each", self._rec_entries(recs)

    def _rec_entries(self, recs: Sequence[Recommendation]) -> list[OutEntry]:
        from mlradar._feedsout import OutEntry

        papers = self._papers_by_ref([r.arxiv_id for r in recs if r.arxiv_id])
        out: list[OutEntry] = []
        for r in recs:
            if r.arxiv_id and r.arxiv_id in papers:
                out.append(_paper_entry(papers[r.arxiv_id], f"Why: {r.reason}"))
            elif r.item_id is not None:
                out.append(
                    OutEntry(
                        id=f"tag:mlradar,2026:item/{r.item_id}",
                        title=r.title,
                        updated=_day_time(r.date) or datetime.now(UTC),
                        link=r.url,
                        summary=f"Why: {r.reason}",
                    )
                )
        return out

    def _digest_entries(self, arg: str | None) -> tuple[str, str | None, list[OutEntry]]:
        from mlradar._feedsout import OutEntry

        digest: Digest
        if arg is not None:
            digest = self.digest_by_id(int(arg))
        else:
            archived = self.digests(limit=1)
            digest = archived[0] if archived else self.digest()
        updated = digest.created_at
        out: list[OutEntry] = []
        for section in digest.sections:
            for e in section.entries:
                summary = f"{section.title}. Why: {e.reason}"
                if e.summary:
                    summary += f"\n\n{e.summary}"
                key = f"{digest.period}/{section.kind}/{e.kind}/{e.ref}"
                out.append(
                    OutEntry(
                        id=f"tag:mlradar,2026:digest/{quote(key, safe='/')}",
                        title=e.title,
                        updated=updated,
                        published=_day_time(e.date),
                        link=e.url,
                        summary=summary,
                        author=e.source,
                        categories=(section.title,),
                    )
                )
        return f"digest {digest.since} to {digest.until}", None, out

    # -- tokens ----------------------------------------------------------------------------

    def create_feed_token(
        self, view: FeedView | None = None, *, label: str | None = None
    ) -> NewFeedToken:
        """A new private-feed token for ``view`` (None: every view of the user).  The
        secret is in the result only: store it in the feed URL, it cannot be shown again."""
        from mlradar._feedsout import hash_token, new_token_secret, parse_view

        if view is not None:
            view = parse_view(view.kind, view.arg)
        if label is not None and len(label) > 200:
            raise InvalidInputError("the label is too long (200 characters at most)")
        secret = new_token_secret()
        token = self._storage.add_feed_token(self._user_id, hash_token(secret), view, label)
        return NewFeedToken(token, secret)

    def feed_tokens(self) -> list[FeedToken]:
        """The user's feed tokens (revoked ones too), without their secrets."""
        return self._storage.list_feed_tokens(self._user_id)

    def revoke_feed_token(self, token_id: int) -> FeedToken:
        """Close the feeds of one of the user's tokens; NotFoundError for another's."""
        return self._storage.revoke_feed_token(self._user_id, token_id)


def check_feed_scope(scope: FeedView | None, view: FeedView) -> None:
    """FeedTokenError unless a token scoped to ``scope`` opens ``view``."""
    if scope is not None and scope != view:
        raise FeedTokenError("that feed token does not open this feed")


def touch_due(last_used: datetime | None, now: datetime) -> bool:
    """Whether a token's last use is worth writing (at most every :data:`TOUCH_EVERY`)."""
    return last_used is None or now - last_used >= TOUCH_EVERY


__all__ = ["FEED_LIMIT", "FeedsOutMixin", "check_feed_scope", "touch_due"]
