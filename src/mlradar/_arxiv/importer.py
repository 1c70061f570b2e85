"""Importing the bulk metadata snapshot: streamed, batched, idempotent and resumable.

Each batch of papers is stored in one transaction together with a checkpoint (the number of
the last line the batch covers, and the running totals).  A killed import therefore resumes
exactly after the last committed batch: lines before it are skipped without parsing, lines
after it are read again, and since storing is an idempotent upsert nothing is added twice.

The checkpoint is keyed by the file's absolute path and is only trusted while the file's
size and modification time and the category filter are unchanged; otherwise the import
starts over (still idempotent, just slower).  A finished import removes its checkpoint, so
the next import of the same file reads it all again and updates what changed.

A large file into an empty or nearly empty database is a *bulk load* (:func:`bulk_load`):
the papers' full-text index is not maintained row by row but built in id order once the
file is read (storage's ``index_deferred_papers``), and SQLite checkpoints its WAL less
often meanwhile.  Storage records how far the index got in the transaction that moves
it, so a killed bulk load leaves an intact database; the next import (of any file) sees
the load deferred, takes it over and finishes the index.
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Literal, NamedTuple, Protocol

from mlradar._arxiv.records import CategoryFilter
from mlradar._arxiv.snapshot import SnapshotReader, parse_line
from mlradar._arxiv.state import JsonState
from mlradar._model import PaperRow, StoreCounts
from mlradar._papers import PaperStore, paper_row, store_paper_rows
from mlradar.exceptions import InvalidInputError, RadarError
from mlradar.types import ImportProgress, ImportSummary

#: Papers per transaction: large enough that per-transaction costs vanish, small enough
#: that a kill loses little and readers never wait long.
BATCH_SIZE = 2000
#: Commit a checkpoint at least this often in lines, even when the filter keeps few papers.
CHECKPOINT_LINES = 50_000
#: Problems remembered for the summary (all are counted).
MAX_PROBLEMS = 100
#: Below this size (bytes on disk) a second process costs more than it saves.
PARALLEL_MIN_BYTES = 4 * 1024 * 1024
#: A file whose first this many lines hold no record at all is not a snapshot.
SNIFF_LINES = 1000
#: A bulk load is a file at least this large (bytes on disk: ~6,000 papers gzipped)...
BULK_MIN_BYTES = PARALLEL_MIN_BYTES
#: ...into a database holding fewer papers than this.  Above it the database is in use, and
#: what an import adds should be searchable as it lands, not when the import ends.
BULK_MAX_PAPERS = 100_000
#: Papers indexed per transaction once the file is read: bounds the WAL of one commit, and
#: what a kill loses.
INDEX_FINISH_STEP = 50_000

ProgressCallback = Callable[[ImportProgress], None]
ProblemCallback = Callable[[int, str], None]


class ImportStore(PaperStore, Protocol):
    """The storage calls an import needs (so tests can pass a fake)."""

    def get_state(self, key: str) -> str | None: ...

    def set_state(self, key: str, value: str | None) -> None: ...

    def count_papers(self, *, upto: int | None = None) -> int: ...

    def paper_fts_deferred(self) -> bool: ...

    def defer_paper_fts(self) -> None: ...

    def index_deferred_papers(self, limit: int) -> int: ...

    def end_deferred_paper_fts(self) -> None: ...

    def bulk_writes(self) -> contextlib.AbstractContextManager[None]: ...


def bulk_load(*, file_bytes: int, stored_papers: int, deferred: bool) -> bool:
    """Whether an import runs as a bulk load: always when one is deferred already (a
    killed load: only a load ends it), else for a large file into a database that holds
    fewer than :data:`BULK_MAX_PAPERS` papers."""
    if deferred:
        return True
    return file_bytes >= BULK_MIN_BYTES and stored_papers < BULK_MAX_PAPERS


@dataclass(slots=True)
class Checkpoint(JsonState):
    """Where an import of one file stands; stored as JSON in the ``state`` table."""

    size: int
    mtime_ns: int
    categories: str
    line: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    filtered: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)

    def same_file(self, other: Checkpoint) -> bool:
        return (self.size, self.mtime_ns, self.categories) == (
            other.size,
            other.mtime_ns,
            other.categories,
        )


def checkpoint_key(path: Path) -> str:
    digest = hashlib.sha256(str(path).encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return f"arxiv.import:{digest}"


class Chunk(NamedTuple):
    """What the parser hands the writer: the rows of a batch and the lines it covers."""

    last_line: int
    position: int
    rows: list[PaperRow]
    problems: list[tuple[int, str]]
    filtered: int


def iter_chunks(
    path: Path, start_line: int, categories: CategoryFilter
) -> Generator[Chunk, None, None]:
    """Parse the file from line ``start_line + 1`` on, in chunks ending on batch bounds."""
    rows: list[PaperRow] = []
    problems: list[tuple[int, str]] = []
    filtered = lines = 0
    number = start_line
    with SnapshotReader(path, start_line=start_line) as reader:
        for line in reader:
            number = line.number
            lines += 1
            parsed = parse_line(line, categories)
            if parsed.paper is not None:
                rows.append(paper_row(parsed.paper))
            elif parsed.problem is not None:
                problems.append((parsed.number, parsed.problem))
            elif parsed.filtered:
                filtered += 1
            if len(rows) >= BATCH_SIZE or lines >= CHECKPOINT_LINES:
                yield Chunk(number, reader.position, rows, problems, filtered)
                rows, problems, filtered, lines = [], [], 0, 0
        if lines:
            yield Chunk(number, reader.position, rows, problems, filtered)


def _parse_worker(
    reader: Connection,
    writer: Connection,
    path: Path,
    start_line: int,
    categories: CategoryFilter,
) -> None:
    """The parser process: chunks go down the pipe; an error goes as a string.

    When the importing process dies (even by SIGKILL) the pipe breaks and this ends too:
    which is why the forked copy of the reading end is closed first.
    """
    reader.close()
    try:
        for chunk in iter_chunks(path, start_line, categories):
            writer.send(chunk)
        writer.send(None)
    except (BrokenPipeError, KeyboardInterrupt):
        pass
    except RadarError as exc:
        with contextlib.suppress(BrokenPipeError):
            writer.send(str(exc))
    finally:
        writer.close()


def _chunks_from_process(
    path: Path, start_line: int, categories: CategoryFilter
) -> Generator[Chunk, None, None]:
    """:func:`iter_chunks`, run in a second process so parsing overlaps with writing."""
    # fork, not spawn: spawn re-imports the caller's __main__, which breaks any script
    # without a main guard.  The child only reads the file and exits with os._exit, so
    # the database connections it inherits are never touched.
    ctx = multiprocessing.get_context("fork")
    reader, writer = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=_parse_worker,
        args=(reader, writer, path, start_line, categories),
        name="mlradar-arxiv-parse",
        daemon=True,
    )
    proc.start()
    writer.close()  # only the child writes: its death (or ours) is then seen as EOF
    try:
        while True:
            try:
                message = reader.recv()
            except EOFError:
                raise InvalidInputError(
                    f"{path}: the parser process stopped unexpectedly (exit code {proc.exitcode})"
                ) from None
            if message is None:
                return
            if isinstance(message, str):
                raise InvalidInputError(message)
            yield message
    finally:
        reader.close()
        if proc.is_alive():
            proc.terminate()
        proc.join(5)


class SnapshotImport:
    """One import run of one file into one store.

    ``parallel`` parses in a second process while this one writes (None: only for files
    large enough to repay the process start-up).  ``bulk`` defers the full-text index to
    the end (None: as :func:`bulk_load` decides; a load that is deferred already is
    always ended).
    """

    def __init__(
        self,
        store: ImportStore,
        path: Path,
        *,
        categories: CategoryFilter | None = None,
        progress: ProgressCallback | None = None,
        on_problem: ProblemCallback | None = None,
        parallel: bool | None = None,
        bulk: bool | None = None,
    ) -> None:
        self._store = store
        self._path = path.expanduser().resolve()
        self._categories = categories or CategoryFilter()
        self._progress = progress
        self._on_problem = on_problem
        self._parallel = parallel
        self._bulk = bulk

    def _fresh_checkpoint(self) -> Checkpoint:
        try:
            st = self._path.stat()
        except OSError as exc:
            raise InvalidInputError(f"cannot read {self._path}: {exc.strerror or exc}") from None
        if not self._path.is_file():
            raise InvalidInputError(f"{self._path} is not a file")
        return Checkpoint(st.st_size, st.st_mtime_ns, str(self._categories))

    def run(self) -> ImportSummary:
        """Import the file; returns totals (including those of an interrupted earlier run)."""
        started = time.monotonic()
        key = checkpoint_key(self._path)
        cp = self._fresh_checkpoint()
        saved = Checkpoint.from_json(self._store.get_state(key))
        if saved is not None and saved.same_file(cp):
            cp = saved
        resumed_at = cp.line
        resumed_new, resumed_papers = cp.new, cp.new + cp.updated + cp.unchanged
        parallel = self._parallel
        if parallel is None:
            parallel = cp.size >= PARALLEL_MIN_BYTES
        parallel = parallel and "fork" in multiprocessing.get_all_start_methods()
        bulk = self._bulk_load(cp)
        if bulk:
            self._store.defer_paper_fts()
        chunks = (_chunks_from_process if parallel else iter_chunks)(
            self._path, cp.line, self._categories
        )
        # closing(): an error or an interrupt here stops the parser process at once.
        with (
            contextlib.closing(chunks),
            self._store.bulk_writes() if bulk else contextlib.nullcontext(),
        ):
            for chunk in chunks:
                cp = self._account(cp, chunk)
                self._check_looks_like_snapshot(cp)

                def checkpoint(counts: StoreCounts, cp: Checkpoint = cp) -> dict[str, str | None]:
                    cp.add(counts)
                    return {key: cp.to_json()}

                store_paper_rows(self._store, chunk.rows, state=checkpoint)
                self._report(cp, chunk.position)
            if bulk:
                # Minutes at full-snapshot size: say so, and how far it is.
                indexed = 0
                self._report(cp, cp.size, "full text", indexed)
                while step := self._store.index_deferred_papers(INDEX_FINISH_STEP):
                    indexed += step
                    self._report(cp, cp.size, "full text", indexed)
                self._store.end_deferred_paper_fts()
        # Only now: a kill before this resumes at the end of the file, ending the load.
        self._store.set_state(key, None)
        return ImportSummary(
            path=str(self._path),
            lines=cp.line,
            new=cp.new,
            updated=cp.updated,
            unchanged=cp.unchanged,
            filtered=cp.filtered,
            skipped=cp.skipped,
            problems=tuple(cp.problems),
            resumed_at_line=resumed_at,
            seconds=time.monotonic() - started,
            resumed_new=resumed_new,
            resumed_papers=resumed_papers,
        )

    def _bulk_load(self, cp: Checkpoint) -> bool:
        deferred = self._store.paper_fts_deferred()
        if self._bulk is not None and not deferred:
            return self._bulk
        stored = 0 if deferred else self._store.count_papers(upto=BULK_MAX_PAPERS)
        return bulk_load(file_bytes=cp.size, stored_papers=stored, deferred=deferred)

    def _account(self, cp: Checkpoint, chunk: Chunk) -> Checkpoint:
        cp = replace(cp, problems=list(cp.problems))
        for number, problem in chunk.problems:
            if len(cp.problems) < MAX_PROBLEMS:
                cp.problems.append(f"line {number}: {problem}")
            if self._on_problem is not None:
                self._on_problem(number, problem)
        cp.skipped += len(chunk.problems)
        cp.filtered += chunk.filtered
        cp.line = chunk.last_line
        return cp

    def _check_looks_like_snapshot(self, cp: Checkpoint) -> None:
        if cp.line >= SNIFF_LINES and cp.skipped == cp.line:
            raise InvalidInputError(
                f"{self._path} is not an arXiv metadata snapshot: none of its first "
                f"{cp.line} lines is a JSON record "
                f"({cp.problems[0] if cp.problems else 'no record found'})"
            )

    def _report(
        self,
        cp: Checkpoint,
        bytes_done: int,
        phase: Literal["reading", "full text"] = "reading",
        indexed: int = 0,
    ) -> None:
        if self._progress is not None:
            self._progress(
                ImportProgress(
                    bytes_done=bytes_done,
                    bytes_total=cp.size,
                    lines=cp.line,
                    papers=cp.new + cp.updated + cp.unchanged,
                    skipped=cp.skipped,
                    phase=phase,
                    indexed=indexed,
                )
            )
