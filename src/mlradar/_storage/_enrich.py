"""The enrichment cache: answers of outside services (Semantic Scholar) with their date."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete, insert, select

from mlradar._storage import schema as s
from mlradar._storage._base import StorageBase


class EnrichStorage(StorageBase):
    def enrich_cached(self, ref: str) -> dict[str, tuple[int, str | None, datetime]]:
        """Every cached answer about ``ref``: ``kind -> (status, body, fetched at)``."""
        c = s.enrich_cache.c
        with self.read() as conn:
            rows = conn.execute(
                select(c.kind, c.status, c.body, c.fetched_at).where(c.ref == ref)
            ).all()
        return {str(r.kind): (int(r.status), r.body, r.fetched_at) for r in rows}

    def put_enrich(
        self, kind: str, ref: str, status: int, body: str | None, fetched_at: datetime
    ) -> None:
        """Cache one answer (replacing an older one), committed at once: an interrupted
        run keeps every answer it got."""
        c = s.enrich_cache.c
        with self.begin() as conn:
            conn.execute(delete(s.enrich_cache).where(c.kind == kind, c.ref == ref))
            conn.execute(
                insert(s.enrich_cache).values(
                    kind=kind, ref=ref, status=status, body=body, fetched_at=fetched_at
                )
            )

    def paper_ids_since(self, day: date, limit: int = 10_000) -> list[int]:
        """Ids of the stored papers first listed on ``day`` or later, newest first."""
        p = s.papers.c
        with self.read() as conn:
            rows = conn.execute(
                select(p.id)
                .where(p.first_version_at >= day, p.stub.is_(False))
                .order_by(p.first_version_at.desc(), p.id.desc())
                .limit(limit)
            )
            return [int(r.id) for r in rows]


__all__ = ["EnrichStorage"]
