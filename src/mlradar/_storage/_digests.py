"""Digests, digest schedules, feed tokens and the updater's runs.

A digest is stored once per user and period (``UNIQUE (user_id, period)``).  Sending
claims the period first, with one conditional write that only one sender can win (on
both databases, without a lock): a period is never sent twice, even by two processes.
A sender that dies after claiming leaves the period ``sending``: mlradar does not know
whether the mail went out, so it does not send it again (at most once).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal, cast

import orjson
from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from mlradar._storage import schema as s
from mlradar._storage._base import utcnow
from mlradar._storage._items import ItemsStorage
from mlradar.exceptions import NotFoundError
from mlradar.types import (
    Digest,
    DigestEntry,
    DigestSchedule,
    DigestSection,
    DigestStatus,
    FeedToken,
    FeedView,
    FeedViewKind,
    Item,
    UpdateRun,
)

#: Update runs kept (the sources page shows the last; a few hundred tell a story).
KEEP_UPDATE_RUNS = 500
#: Statuses a sender may claim: composed and never sent, or sent and failed.
_CLAIMABLE = ("stored", "failed")


def _entry_json(e: DigestEntry) -> dict[str, Any]:
    return {
        "kind": e.kind,
        "ref": e.ref,
        "title": e.title,
        "reason": e.reason,
        "url": e.url,
        "source": e.source,
        "date": e.date.isoformat() if e.date else None,
        "summary": e.summary,
    }


def _body(digest: Digest) -> str:
    sections = [
        {
            "kind": sec.kind,
            "title": sec.title,
            "note": sec.note,
            "entries": [_entry_json(e) for e in sec.entries],
        }
        for sec in digest.sections
    ]
    return orjson.dumps({"format": 1, "sections": sections}).decode()


def _sections(body: str) -> tuple[DigestSection, ...]:
    data = orjson.loads(body)
    return tuple(
        DigestSection(
            kind=sec["kind"],
            title=sec["title"],
            note=sec.get("note"),
            entries=tuple(
                DigestEntry(
                    kind=e["kind"],
                    ref=e["ref"],
                    title=e["title"],
                    reason=e["reason"],
                    url=e.get("url"),
                    source=e.get("source"),
                    date=date.fromisoformat(e["date"]) if e.get("date") else None,
                    summary=e.get("summary"),
                )
                for e in sec["entries"]
            ),
        )
        for sec in data["sections"]
    )


def _row_to_digest(row: Row[Any], user: str) -> Digest:
    return Digest(
        user=user,
        since=row.since_day,
        until=row.until_day,
        sections=_sections(row.body),
        created_at=row.created_at,
        id=int(row.id),
        status=cast(DigestStatus, row.status),
        sent_at=row.sent_at,
        recipient=row.recipient,
        error=row.error,
    )


def _row_to_token(row: Row[Any], user: str) -> FeedToken:
    view = (
        FeedView(cast(FeedViewKind, row.view_kind), row.view_arg)
        if row.view_kind is not None
        else None
    )
    return FeedToken(
        id=int(row.id),
        user=user,
        created_at=row.created_at,
        view=view,
        label=row.label,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def _values(digest: Digest) -> dict[str, Any]:
    """The columns a stored digest's content fills."""
    return {
        "since_day": digest.since,
        "until_day": digest.until,
        "created_at": digest.created_at,
        "body": _body(digest),
    }


class DigestsStorage(ItemsStorage):
    # -- digests ---------------------------------------------------------------------------

    def _user_name(self, user_id: int) -> str:
        with self.read() as conn:
            name = conn.execute(select(s.users.c.name).where(s.users.c.id == user_id)).scalar()
        if name is None:
            raise NotFoundError(f"no user {user_id}")
        return str(name)

    def _digest_row(self, user_id: int, period: str) -> Digest | None:
        t = s.digests
        with self.read() as conn:
            row = conn.execute(
                select(t).where(t.c.user_id == user_id, t.c.period == period)
            ).first()
        return None if row is None else _row_to_digest(row, self._user_name(user_id))

    def save_digest(self, user_id: int, digest: Digest) -> Digest:
        """Store ``digest`` in the archive (replacing an unsent one of the same period);
        a period already sent or being sent keeps what was sent.  Returns what is stored."""
        t = s.digests
        values = _values(digest)
        try:
            with self.begin() as conn:
                conn.execute(
                    insert(t).values(
                        user_id=user_id, period=digest.period, status="stored", **values
                    )
                )
        except IntegrityError:
            self._update_claimable(user_id, digest.period, values)
        found = self._digest_row(user_id, digest.period)
        assert found is not None
        return found

    def _update_claimable(self, user_id: int, period: str, values: dict[str, Any]) -> bool:
        """Write ``values`` to the period's row if it is not sent or being sent."""
        t = s.digests
        with self.begin() as conn:
            done = conn.execute(
                update(t)
                .where(t.c.user_id == user_id, t.c.period == period, t.c.status.in_(_CLAIMABLE))
                .values(**values)
            ).rowcount
        return bool(done)

    def claim_digest(self, user_id: int, digest: Digest, recipient: str) -> Digest | None:
        """Claim ``digest``'s period for sending (storing the digest as it will be sent);
        None when the period was sent, or claimed by another sender, already."""
        t = s.digests
        values = {**_values(digest), "status": "sending", "recipient": recipient, "error": None}
        try:
            with self.begin() as conn:
                conn.execute(insert(t).values(user_id=user_id, period=digest.period, **values))
        except IntegrityError:
            # The period is stored: claim it only from a state nobody is sending from.
            # One UPDATE with the condition in its WHERE: of two racing senders one wins.
            if not self._update_claimable(user_id, digest.period, values):
                return None
        return self._digest_row(user_id, digest.period)

    def finish_digest(self, digest_id: int, *, error: str | None = None) -> None:
        """Record how sending a claimed digest went: sent, or failed (may be sent again)."""
        t = s.digests
        values: dict[str, Any] = (
            {"status": "sent", "sent_at": utcnow(), "error": None}
            if error is None
            else {"status": "failed", "error": error[:2000]}
        )
        with self.begin() as conn:
            conn.execute(update(t).where(t.c.id == digest_id).values(**values))

    def list_digests(self, user_id: int, *, limit: int = 50) -> list[Digest]:
        """The user's stored digests, newest period first."""
        t = s.digests
        name = self._user_name(user_id)
        with self.read() as conn:
            rows = conn.execute(
                select(t)
                .where(t.c.user_id == user_id)
                .order_by(t.c.until_day.desc(), t.c.id.desc())
                .limit(limit)
            ).all()
        return [_row_to_digest(r, name) for r in rows]

    def get_digest(self, user_id: int, digest_id: int) -> Digest | None:
        """One of the user's digests (None: no such digest, or another user's)."""
        t = s.digests
        with self.read() as conn:
            row = conn.execute(select(t).where(t.c.id == digest_id, t.c.user_id == user_id)).first()
        return None if row is None else _row_to_digest(row, self._user_name(user_id))

    def last_digest_sends(self) -> dict[int, datetime]:
        """For each user: when their last digest was claimed for sending (sent or not)."""
        t = s.digests
        with self.read() as conn:
            rows = conn.execute(
                select(t.c.user_id, func.max(t.c.created_at))
                .where(t.c.status.in_(("sending", "sent", "failed")))
                .group_by(t.c.user_id)
            ).all()
        # max() keeps the column's type: aware UTC datetimes.
        return {int(u): v for u, v in rows}

    # -- schedules -------------------------------------------------------------------------

    def get_digest_schedule(self, user_id: int) -> DigestSchedule:
        t = s.digest_schedules
        with self.read() as conn:
            row = conn.execute(select(t).where(t.c.user_id == user_id)).first()
        if row is None:
            return DigestSchedule()
        return DigestSchedule(
            cadence=cast(Literal["off", "daily", "weekly"], row.cadence),
            weekday=int(row.weekday),
            hour=int(row.hour),
            email=row.email,
        )

    def set_digest_schedule(self, user_id: int, schedule: DigestSchedule) -> None:
        t = s.digest_schedules
        with self.begin() as conn:
            conn.execute(delete(t).where(t.c.user_id == user_id))
            conn.execute(
                insert(t).values(
                    user_id=user_id,
                    cadence=schedule.cadence,
                    weekday=schedule.weekday,
                    hour=schedule.hour,
                    email=schedule.email,
                    updated_at=utcnow(),
                )
            )

    def digest_schedules(self) -> list[tuple[int, str, DigestSchedule]]:
        """Every user whose digest is scheduled (cadence not ``off``): id, name, schedule."""
        t = s.digest_schedules
        with self.read() as conn:
            rows = conn.execute(
                select(t, s.users.c.name)
                .join(s.users, s.users.c.id == t.c.user_id)
                .where(t.c.cadence != "off")
                .order_by(t.c.user_id)
            ).all()
        return [
            (
                int(r.user_id),
                str(r.name),
                DigestSchedule(
                    cadence=cast(Literal["off", "daily", "weekly"], r.cadence),
                    weekday=int(r.weekday),
                    hour=int(r.hour),
                    email=r.email,
                ),
            )
            for r in rows
        ]

    # -- what a digest reads ----------------------------------------------------------------

    def discussed_items(
        self, user_id: int, since: datetime, *, until: datetime | None = None, limit: int = 10
    ) -> list[Item]:
        """The user's items from ``since`` (to before ``until``) with the most discussion
        (points plus comments, where their source counts them), most discussed first."""
        when = func.coalesce(s.items.c.published_at, s.items.c.first_seen_at)
        talk = func.coalesce(s.items.c.points, 0) + func.coalesce(s.items.c.comments, 0)
        query = (
            self._item_select(user_id)
            .where(when >= since, (s.items.c.points.is_not(None)) | s.items.c.comments.is_not(None))
            .order_by(talk.desc(), s.items.c.id.desc())
            .limit(limit)
        )
        if until is not None:
            query = query.where(when < until)
        with self.read() as conn:
            return [self._row_to_item(r) for r in conn.execute(query)]

    def new_posts(
        self,
        user_id: int,
        since: datetime,
        *,
        kinds: tuple[str, ...],
        until: datetime | None = None,
        limit: int = 10,
    ) -> list[Item]:
        """The user's newest items from ``since`` (to before ``until``) from sources of
        ``kinds`` (blogs and newsletters are ``feed`` sources), newest first."""
        when = func.coalesce(s.items.c.published_at, s.items.c.first_seen_at)
        query = (
            self._item_select(user_id)
            .where(when >= since, s.sources.c.kind.in_(kinds), s.items.c.points.is_(None))
            .order_by(when.desc(), s.items.c.id.desc())
            .limit(limit)
        )
        if until is not None:
            query = query.where(when < until)
        with self.read() as conn:
            return [self._row_to_item(r) for r in conn.execute(query)]

    # -- feed tokens -----------------------------------------------------------------------

    def add_feed_token(
        self, user_id: int, token_hash: str, view: FeedView | None, label: str | None
    ) -> FeedToken:
        t = s.feed_tokens
        now = utcnow()
        with self.begin() as conn:
            new_id = conn.execute(
                insert(t).values(
                    user_id=user_id,
                    token_hash=token_hash,
                    view_kind=view.kind if view else None,
                    view_arg=view.arg if view else None,
                    label=label,
                    created_at=now,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        return FeedToken(int(new_id), self._user_name(user_id), now, view, label)

    def list_feed_tokens(self, user_id: int) -> list[FeedToken]:
        t = s.feed_tokens
        name = self._user_name(user_id)
        with self.read() as conn:
            rows = conn.execute(select(t).where(t.c.user_id == user_id).order_by(t.c.id)).all()
        return [_row_to_token(r, name) for r in rows]

    def revoke_feed_token(self, user_id: int, token_id: int) -> FeedToken:
        """Revoke one of the user's tokens (NotFoundError: none of theirs has that id)."""
        t = s.feed_tokens
        with self.begin() as conn:
            # Revoking twice is harmless: the first revocation's time is kept.
            conn.execute(
                update(t)
                .where(t.c.id == token_id, t.c.user_id == user_id, t.c.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
            row = conn.execute(select(t).where(t.c.id == token_id, t.c.user_id == user_id)).first()
        if row is None:
            raise NotFoundError(f"no feed token {token_id}")
        return _row_to_token(row, self._user_name(user_id))

    def feed_token_by_hash(self, token_hash: str) -> tuple[int, FeedToken] | None:
        """The active token with this hash and its user's id; None when unknown or revoked."""
        t = s.feed_tokens
        with self.read() as conn:
            row = conn.execute(
                select(t, s.users.c.name.label("user_name"))
                .join(s.users, s.users.c.id == t.c.user_id)
                .where(t.c.token_hash == token_hash, t.c.revoked_at.is_(None))
            ).first()
        return None if row is None else (int(row.user_id), _row_to_token(row, row.user_name))

    def touch_feed_token(self, token_id: int, when: datetime) -> None:
        t = s.feed_tokens
        with self.begin() as conn:
            conn.execute(update(t).where(t.c.id == token_id).values(last_used_at=when))

    # -- update runs -----------------------------------------------------------------------

    def record_update_run(self, run: UpdateRun) -> None:
        """Keep ``run`` (and the newest :data:`KEEP_UPDATE_RUNS` runs only)."""
        t = s.update_runs
        with self.begin() as conn:
            new_id = conn.execute(
                insert(t).values(
                    started_at=run.started_at,
                    finished_at=run.finished_at,
                    trigger=run.trigger[:20],
                    sources=run.sources,
                    new=run.new,
                    updated=run.updated,
                    failed=run.failed,
                    error=run.error[:2000] if run.error else None,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            conn.execute(delete(t).where(t.c.id <= int(new_id) - KEEP_UPDATE_RUNS))

    def last_update_run(self) -> UpdateRun | None:
        t = s.update_runs
        with self.read() as conn:
            row = conn.execute(select(t).order_by(t.c.id.desc()).limit(1)).first()
        if row is None:
            return None
        return UpdateRun(
            started_at=row.started_at,
            finished_at=row.finished_at,
            trigger=row.trigger,
            sources=int(row.sources),
            new=int(row.new),
            updated=int(row.updated),
            failed=int(row.failed),
            error=row.error,
        )


__all__ = ["KEEP_UPDATE_RUNS", "DigestsStorage"]
