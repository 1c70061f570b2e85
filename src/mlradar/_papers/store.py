"""Writing papers: records in, one planned transaction per batch out.

The thin I/O around :func:`~mlradar._papers.merge.plan_paper_writes`: storage calls the plan
inside its transaction, so a batch is decided and written as one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from mlradar._model import PaperRow, StoreCounts
from mlradar._papers.merge import paper_row, plan_paper_writes
from mlradar.types import Paper

StateUpdate = Mapping[str, str | None] | Callable[[StoreCounts], Mapping[str, str | None]]


class PaperStore(Protocol):
    """What writing papers needs of storage."""

    def upsert_paper_rows(
        self, rows: Iterable[PaperRow], *, decide: Any, state: Any = None
    ) -> StoreCounts: ...


def store_paper_rows(
    store: PaperStore, rows: Iterable[PaperRow], *, state: StateUpdate | None = None
) -> StoreCounts:
    """Store rows made beforehand (by a bulk import's parser process)."""
    return store.upsert_paper_rows(rows, decide=plan_paper_writes, state=state)


def store_papers(
    store: PaperStore, papers: Iterable[Paper], *, state: StateUpdate | None = None
) -> StoreCounts:
    """Insert new papers, merge changed ones into what is stored, skip unchanged ones, in
    one transaction (with ``state`` entries, such as an import checkpoint)."""
    return store_paper_rows(store, (paper_row(p) for p in papers), state=state)
