"""``index --embed`` is interruptible and resumes: saved chunks are kept, nothing is
embedded twice, and the command line says what was kept (issue 15 §4)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import typer

from mlradar._papers import store_papers
from mlradar._radar import make_radar
from mlradar._rank.index_write import IndexWriter
from mlradar.cli import library
from mlradar.types import Paper
from tests.arxiv_support import synthetic_papers

N_PAPERS, CHUNK = 23, 5


class CountingEmbedder:
    """Counts the texts it embeds; raises ``KeyboardInterrupt`` (a Ctrl-C) on call
    ``interrupt_at`` if given."""

    name = "counting-model"
    dim = 3

    def __init__(self, interrupt_at: int | None = None) -> None:
        self.calls = 0
        self.texts = 0
        self.interrupt_at = interrupt_at

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        if self.calls == self.interrupt_at:
            raise KeyboardInterrupt
        self.texts += len(texts)
        out = np.ones((len(texts), 3), dtype=np.float32)
        out[:, 0] += np.arange(len(texts))
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def papers() -> list[Paper]:
    return synthetic_papers(
        N_PAPERS, lambda n: f"Paper {n} on graph learning", lambda n: f"We study graphs, case {n}."
    )


def test_an_interrupted_embedding_keeps_saved_chunks_and_resumes(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(IndexWriter, "embed_chunk", CHUNK)
    r = make_radar(db_url, embedding_model="counting-model")
    store_papers(r._storage, papers())
    first = CountingEmbedder(interrupt_at=3)  # two chunks saved, the third under way
    r._rank_embedder = (first,)
    seen: list[tuple[int, int]] = []
    with pytest.raises(KeyboardInterrupt):
        r.embed_rank_index(lambda done, total: seen.append((done, total)))
    assert seen == [(5, N_PAPERS), (10, N_PAPERS)]
    assert first.texts == 2 * CHUNK
    dense = r._open_indexes(writable=False)["papers"].store.meta.dense_rows
    assert dense == 2 * CHUNK

    second = CountingEmbedder()
    r._rank_embedder = (second,)
    assert r.embed_rank_index() == N_PAPERS - 2 * CHUNK
    assert second.texts == N_PAPERS - 2 * CHUNK  # nothing embedded twice
    index = r._open_indexes(writable=False)["papers"]
    assert index.has_dense
    # A third run has nothing left to do.
    assert r.embed_rank_index() == 0
    assert second.texts == N_PAPERS - 2 * CHUNK


class FakeRadar:
    """Stands in for the facade: reports two saved chunks, then is interrupted."""

    def embed_rank_index(self, progress: Any, training: Any = None) -> int:
        progress(256, 1000)
        progress(512, 1000)
        raise KeyboardInterrupt


class TrainingThenInterrupted:
    """The tuned backend's first run, interrupted in its second epoch."""

    def embed_rank_index(self, progress: Any, training: Any = None) -> int:
        training("teacher", 2000, 2000)
        training("training", 1, 40)
        raise KeyboardInterrupt


class TrainedThenInterrupted:
    """The tuned model is trained and kept; the interrupt comes before any chunk is saved."""

    def embed_rank_index(self, progress: Any, training: Any = None) -> int:
        training("teacher", 2000, 2000)
        training("training", 5, 40)
        training("trained", 5, 5)
        raise KeyboardInterrupt


class PapersThenItems:
    def embed_rank_index(self, progress: Any, training: Any = None) -> int:
        for done in (256, 300):
            progress(done, 300)
        for done in (40,):
            progress(done, 40)
        return 340


def test_the_command_says_what_an_interrupt_kept(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit) as stopped:
        library._embed_with_progress(FakeRadar(), quiet=True)
    assert stopped.value.exit_code == 130
    err = capsys.readouterr().err
    assert "interrupted: 512 new embeddings are saved" in err
    assert "resume" in err


def test_an_interrupt_while_training_says_nothing_of_it_is_kept(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(typer.Exit) as stopped:
        library._embed_with_progress(TrainingThenInterrupted(), quiet=True)
    assert stopped.value.exit_code == 130
    err = capsys.readouterr().err
    assert "interrupted while training the tuned model: nothing of it is kept" in err
    assert "new embeddings are saved" not in err


def test_an_interrupt_after_training_does_not_say_the_model_is_lost(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(typer.Exit):
        library._embed_with_progress(TrainedThenInterrupted(), quiet=True)
    err = capsys.readouterr().err
    assert "interrupted: 0 new embeddings are saved" in err
    assert "nothing of it is kept" not in err


def test_the_command_reports_the_count_and_rate(capsys: pytest.CaptureFixture[str]) -> None:
    library._embed_with_progress(PapersThenItems(), quiet=True)
    assert "embeddings: 340 new in" in capsys.readouterr().out


def test_the_rate_column_says_papers_per_second() -> None:
    from rich.progress import Progress

    bar = Progress(library._RateColumn())
    task = bar.add_task("embed", total=10)
    assert str(bar.columns[0].render(bar.tasks[task])) == "0 papers/s"  # no rate yet
