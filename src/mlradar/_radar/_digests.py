"""Digests: composing a user's newsletter, the archive, the schedule, and sending by email.

A digest covers a period of days.  Without dates it is the ranking's digest window (new
since the last digest sent; the first time, the last week): sending it moves that window
on, so the next digest starts the day after.  A period is stored once per user and sent
at most once (see :mod:`mlradar._storage._digests`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from mlradar._radar._catalog import CatalogMixin
from mlradar._radar._feeds import FeedsMixin
from mlradar._radar._library import _check_limit
from mlradar._radar._papers import PapersMixin
from mlradar._radar._recommend import DIGEST_DAYS, RecommendMixin
from mlradar.exceptions import (
    DigestAlreadySentError,
    EmailError,
    InvalidInputError,
    NotFoundError,
    RadarError,
)
from mlradar.types import Digest, DigestSchedule, LearningPath, Recommendation, UpdateRun

#: Source kinds whose items are "posts from followed blogs and newsletters".
POST_KINDS = ("feed",)
CADENCES = ("off", "daily", "weekly")


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


class DigestsMixin(FeedsMixin, CatalogMixin, PapersMixin, RecommendMixin):
    # -- composing -------------------------------------------------------------------------

    def _digest_period(
        self, since: date | datetime | None, until: date | None
    ) -> tuple[date, date]:
        if isinstance(since, datetime):
            since = since.astimezone(UTC).date()
        if since is None:
            if until is not None:
                return until - timedelta(days=DIGEST_DAYS - 1), until
            window = self.digest_window()
            return window.since, window.until
        until = until or self._today()
        if since > until:
            raise InvalidInputError("the digest's period starts after it ends")
        return since, until

    def digest(
        self,
        *,
        since: date | datetime | None = None,
        until: date | None = None,
        limit: int = 10,
    ) -> Digest:
        """Compose the user's digest from ``since`` to ``until`` (days; ``until`` defaults
        to today), or without dates for what is new since the last digest sent.  Nothing
        is stored: :meth:`save_digest` archives it, :meth:`send_digest` emails it."""
        from mlradar._digest import DigestInputs, compose_digest

        _check_limit(limit)
        first, last = self._digest_period(since, until)
        notes: dict[str, str] = {}
        recs: list[Recommendation] = []
        try:
            recs = self.recommend(since=first, until=last, limit=limit)
        except InvalidInputError:
            notes["recommended"] = (
                "nothing to learn from yet: tag or like a few papers to get recommendations"
            )
        except NotFoundError as exc:
            notes["recommended"] = str(exc)
        ids = [r.arxiv_id for r in recs if r.arxiv_id]
        abstracts = {p.arxiv_id: p.abstract for p in self._storage.papers_by_ids(ids) if p.arxiv_id}
        start, end = _start_of(first), _start_of(last + timedelta(days=1))
        uid = self._user_id
        path: LearningPath | None = None
        try:
            path = self.learning_path()
        except RadarError as exc:
            notes["path"] = str(exc)
        return compose_digest(
            DigestInputs(
                user=self.user,
                since=first,
                until=last,
                created_at=datetime.now(UTC),
                recommended=recs,
                abstracts=abstracts,
                discussed=self._storage.discussed_items(uid, start, until=end, limit=limit),
                posts=self._storage.new_posts(uid, start, until=end, kinds=POST_KINDS, limit=limit),
                path=path,
                notes=notes,
            )
        )

    def render_digest(self, digest: Digest, fmt: str = "md") -> str:
        """``digest`` as Markdown (``md``) or an HTML page (``html``)."""
        from mlradar._digest import DigestFormat, render_digest

        if fmt not in ("md", "html"):
            raise InvalidInputError(f"unknown digest format {fmt!r}: use md or html")
        kind: DigestFormat = "html" if fmt == "html" else "md"
        return render_digest(digest, kind, base_url=self._settings.public_url)

    # -- the archive -----------------------------------------------------------------------

    def save_digest(self, digest: Digest) -> Digest:
        """Archive ``digest`` (one per period: an unsent one of the same period is
        replaced; a sent one is kept as it was sent).  Returns the stored record."""
        self._check_mine(digest)
        return self._storage.save_digest(self._user_id, digest)

    def digests(self, *, limit: int = 50) -> list[Digest]:
        """The user's archived digests, newest period first."""
        _check_limit(limit)
        return self._storage.list_digests(self._user_id, limit=limit)

    def digest_by_id(self, digest_id: int) -> Digest:
        """One of the user's archived digests; NotFoundError for another user's."""
        # An id no row can have (a feed URL's digits, say) would overflow the database's
        # integer: it is simply not there.
        if not 0 < digest_id < 2**63:
            raise NotFoundError(f"no digest {digest_id}")
        found = self._storage.get_digest(self._user_id, digest_id)
        if found is None:
            raise NotFoundError(f"no digest {digest_id}")
        return found

    def _check_mine(self, digest: Digest) -> None:
        if digest.user != self.user:
            raise InvalidInputError(f"that digest is {digest.user}'s, not {self.user}'s")

    # -- the schedule ----------------------------------------------------------------------

    def digest_schedule(self) -> DigestSchedule:
        """When the user's digest is emailed (``off`` until set), and to which address."""
        return self._storage.get_digest_schedule(self._user_id)

    def set_digest_schedule(
        self,
        cadence: str,
        *,
        weekday: int = 0,
        hour: int = 7,
        email: str | None = None,
    ) -> DigestSchedule:
        """Email the digest ``daily``, ``weekly`` (on ``weekday``, 0 = Monday) or never
        (``off``), from ``hour`` o'clock UTC, to ``email`` (kept when None)."""
        if cadence not in CADENCES:
            raise InvalidInputError(f"unknown cadence {cadence!r}: use off, daily or weekly")
        if not 0 <= weekday <= 6:
            raise InvalidInputError("weekday must be 0 (Monday) to 6 (Sunday)")
        if not 0 <= hour <= 23:
            raise InvalidInputError("hour must be 0 to 23 (UTC)")
        if email is not None:
            email = _check_email(email)
        address = email if email is not None else self.digest_schedule().email
        if cadence != "off" and not address:
            raise InvalidInputError("a scheduled digest needs an email address")
        schedule = DigestSchedule(cadence, weekday, hour, address)  # type: ignore[arg-type]
        self._storage.set_digest_schedule(self._user_id, schedule)
        return schedule

    # -- scheduled work --------------------------------------------------------------------

    def last_update_run(self) -> UpdateRun | None:
        """When the updater last ran (for every user's sources) and how it went: what the
        sources page shows.  None when it never ran."""
        return self._core.last_update_run()

    # -- sending ---------------------------------------------------------------------------

    def send_digest(self, digest: Digest | None = None, *, to: str | None = None) -> Digest:
        """Email ``digest`` (composed now when None) to ``to``, else the schedule's address.

        The period is claimed before sending (DigestAlreadySentError when it was sent, or
        is being sent, already); the result is recorded either way, and a failure raises
        EmailError (the period may then be sent again).  Returns the stored digest.
        """
        from mlradar._digest import render_digest
        from mlradar._digest.mail import check_smtp, digest_message, send_message

        sender = check_smtp(self._settings)
        recipient = _check_email(to) if to else self.digest_schedule().email
        if not recipient:
            raise InvalidInputError(
                "no address to send the digest to: give one, or set the digest schedule's email"
            )
        if digest is None:
            digest = self.digest()
        self._check_mine(digest)
        claimed = self._storage.claim_digest(self._user_id, digest, recipient)
        if claimed is None:
            raise DigestAlreadySentError(f"the digest of {digest.period} was sent already")
        assert claimed.id is not None
        base = self._settings.public_url
        msg = digest_message(
            subject=f"Your mlradar digest, {digest.since} to {digest.until}",
            sender=sender,
            recipient=recipient,
            text=render_digest(claimed, "md", base_url=base),
            html=render_digest(claimed, "html", base_url=base),
        )
        try:
            send_message(self._settings, msg)
        except EmailError as exc:
            self._storage.finish_digest(claimed.id, error=str(exc))
            raise
        # Anything else (an interrupt mid-conversation) leaves the period claimed: whether
        # the mail went out is not known, and a period is sent at most once.
        self._storage.finish_digest(claimed.id)
        self.mark_digest_sent(window=(digest.since, digest.until))
        return self.digest_by_id(claimed.id)


def _check_email(address: str) -> str:
    from email.utils import parseaddr

    text = address.strip()
    _name, addr = parseaddr(text)
    if not addr or "@" not in addr or any(c in addr for c in "\r\n ") or addr != text:
        raise InvalidInputError(f"not an email address: {address!r}")
    return addr


__all__ = ["POST_KINDS", "DigestsMixin"]
