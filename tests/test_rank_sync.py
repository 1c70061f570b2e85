"""Index syncing is an explicit job that two processes can run at once: they take turns
under the rank directory's file lock, and the store comes out as one sync would make it."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from datetime import date, timedelta

import numpy as np
import pytest

from mlradar._papers import store_papers
from mlradar._radar import make_radar
from mlradar._radar._index import rank_dir_for
from mlradar._rank.features import LexicalEncoder
from mlradar._rank.index import RankIndex, doc_text
from mlradar._rank.locks import LOCK_FILE, writer_lock
from mlradar.types import Paper

WORDS = [
    *("graph", "neural", "network", "speech", "audio"),
    *("robot", "grasping", "diffusion", "sampler", "policy"),
]


def papers(n: int) -> list[Paper]:
    rng = np.random.default_rng(0)
    return [
        Paper(
            arxiv_id=f"2505.{i:05d}",
            title=" ".join(rng.choice(WORDS, 3)),
            authors=(f"Author {i % 17}",),
            categories=("cs.LG",),
            abstract=" ".join(rng.choice(WORDS, 40)),
            first_version_at=date(2025, 5, 1) + timedelta(days=i % 9),
            updated_at=None,
        )
        for i in range(1, n + 1)
    ]


SYNC = """
import sys, time
from mlradar._radar import make_radar
radar = make_radar(sys.argv[1], embedding_model="none-installed-model-xyz")
while time.time() < float(sys.argv[2]):  # start together
    time.sleep(0.005)
print(radar.sync_rank_index())
"""


@pytest.mark.slow
def test_two_processes_syncing_at_once_leave_a_consistent_store(db_url: str) -> None:
    import time

    stored = papers(3000)
    radar = make_radar(db_url, embedding_model="none-installed-model-xyz")
    store_papers(radar._storage, stored)
    start = str(time.time() + 3.0)
    env = {**os.environ}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SYNC, db_url, start], stdout=subprocess.PIPE, text=True, env=env
        )
        for _ in range(2)
    ]
    written = [int(p.communicate(timeout=300)[0].strip()) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    # One did the work, the other (after waiting its turn) found nothing left to do.
    assert sorted(written) == [0, len(stored)]
    index = RankIndex(rank_dir_for(db_url) / "papers", writable=False)
    meta = index.store.meta
    assert meta.rows == meta.last_id == len(stored) and meta.moves == 0
    assert list(index.store.ids) == list(range(1, len(stored) + 1))
    # The frequencies are those of the texts, each counted once.
    enc = LexicalEncoder()
    texts = [doc_text(p.title, p.abstract) for p in stored]
    expected = enc.empty_df().add(enc.term_frequencies(texts))
    assert index.doc_freq().n_docs == len(stored)
    assert np.array_equal(index.doc_freq().counts, expected.counts)
    assert index.has_authors and index.author_doc_freq().n_docs == len(stored)
    assert radar.sync_rank_index() == 0


def test_a_sync_holds_the_file_lock_and_reads_see_its_rows(db_url: str) -> None:
    radar = make_radar(db_url, embedding_model="none-installed-model-xyz")
    store_papers(radar._storage, papers(20))
    root = rank_dir_for(db_url)
    reader = radar._indexes()["papers"]  # opened before anything was indexed
    assert reader.store.meta.rows == 0
    assert not root.exists()  # a read creates nothing
    seen: list[bool] = []
    original = radar._open_indexes

    def spy(writable: bool) -> dict[str, RankIndex]:
        if writable:  # opened by the sync: the lock must be held by now
            fd = os.open(root / LOCK_FILE, os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                seen.append(False)
            except BlockingIOError:
                seen.append(True)
            finally:
                os.close(fd)
        return original(writable)

    radar._open_indexes = spy  # type: ignore[method-assign]
    assert radar.sync_rank_index() == 20
    assert seen == [True]
    assert radar._indexes()["papers"].store.meta.rows == 20  # the reader caught up
    with writer_lock(root):  # and the lock is free again
        pass


def test_recommend_and_related_write_nothing_to_the_index(db_url: str) -> None:
    radar = make_radar(db_url, embedding_model="none-installed-model-xyz")
    store_papers(radar._storage, papers(40))
    radar.sync_rank_index()
    store_papers(radar._storage, papers(45)[40:])  # the database is ahead of the index now
    root = rank_dir_for(db_url)

    def snapshot() -> dict[str, tuple[int, int]]:
        return {
            str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*")
            if p.is_file() and "models" not in p.parts
        }

    before = snapshot()
    radar.tag("t", ["2505.00001", "2505.00002", "2505.00003"])
    recs = radar.recommend(tag="t", since=date(2025, 5, 1), limit=5)
    assert len(recs) == 5
    assert radar.related("2505.00004", limit=3)
    assert snapshot() == before  # ranked what the index had, synced nothing
    assert radar.rank_index_behind()
    assert {r.arxiv_id for r in recs} <= {f"2505.{i:05d}" for i in range(1, 41)}
