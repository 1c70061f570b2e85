"""The digest tables on both databases: one digest per user and period, claims that only
one sender wins, tokens by hash, the update log kept short."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

from mlradar._storage import open_storage
from mlradar._storage._digests import KEEP_UPDATE_RUNS
from mlradar.types import Digest, DigestEntry, DigestSection, FeedView, UpdateRun

SINCE, UNTIL = date(2025, 5, 1), date(2025, 5, 7)


def _digest(user: str, title: str = "A paper") -> Digest:
    entry = DigestEntry("paper", "2505.00001", title, "because", "https://arxiv.org/abs/2505.00001")
    return Digest(
        user=user,
        since=SINCE,
        until=UNTIL,
        sections=(DigestSection("recommended", "Recommended papers", (entry,)),),
        created_at=datetime(2025, 5, 7, 8, tzinfo=UTC),
    )


def test_digests_claims_tokens_and_runs(any_db_url: str) -> None:
    storage = open_storage(any_db_url)
    try:
        ada, bob = storage.add_user("ada"), storage.add_user("bob")
        stored = storage.save_digest(ada.id, _digest("ada"))
        assert stored.status == "stored" and stored.sections == _digest("ada").sections
        assert storage.save_digest(ada.id, _digest("ada", "Newer")).id == stored.id
        # Racing claims: exactly one sender wins the period.
        wins: list[object] = []
        barrier = threading.Barrier(3)

        def claim() -> None:
            barrier.wait()
            wins.append(storage.claim_digest(ada.id, _digest("ada"), "ada@example.org"))

        threads = [threading.Thread(target=claim) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        claimed = [w for w in wins if w is not None]
        assert len(claimed) == 1
        assert isinstance(claimed[0], Digest) and claimed[0].id is not None
        storage.finish_digest(claimed[0].id)
        assert storage.claim_digest(ada.id, _digest("ada"), "x@example.org") is None
        assert (
            storage.save_digest(ada.id, _digest("ada", "Changed")).sections[0].entries[0].title
            == "A paper"
        )  # what was sent stays
        assert storage.list_digests(bob.id) == [] and storage.get_digest(bob.id, stored.id) is None  # type: ignore[arg-type]
        assert set(storage.last_digest_sends()) == {ada.id}
        # Feed tokens: found by hash, per user, revocable.
        token = storage.add_feed_token(ada.id, "h" * 64, FeedView("tag", "x"), "reader")
        found = storage.feed_token_by_hash("h" * 64)
        assert found is not None and found[0] == ada.id and found[1].view == FeedView("tag", "x")
        storage.revoke_feed_token(ada.id, token.id)
        assert storage.feed_token_by_hash("h" * 64) is None
        # The update log keeps the newest runs only.
        start = datetime(2025, 1, 1, tzinfo=UTC)
        for n in range(KEEP_UPDATE_RUNS + 3):
            at = start + timedelta(minutes=n)
            storage.record_update_run(UpdateRun(at, at, "worker", 1, n))
        last = storage.last_update_run()
        assert last is not None and last.new == KEEP_UPDATE_RUNS + 2
        with storage.read() as conn:
            from sqlalchemy import func, select

            from mlradar._storage import schema as s

            count = conn.execute(select(func.count()).select_from(s.update_runs)).scalar()
        assert count == KEEP_UPDATE_RUNS
    finally:
        storage.close()
