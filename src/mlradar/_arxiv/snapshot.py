"""Streaming the bulk metadata snapshot: JSON lines, plain or gzip, of any size.

The reader holds one line at a time (bounded by :data:`MAX_LINE_BYTES`), so memory does not
grow with the file.  It reports progress as bytes of the file consumed (compressed bytes
for .gz), which is what a progress bar over a 4 GB download wants.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import orjson

from mlradar._arxiv.records import CategoryFilter, paper_from_json
from mlradar.exceptions import InvalidInputError
from mlradar.types import Paper

#: A longer line is not a metadata record (the largest real ones, collaborations with
#: thousands of authors, are a few hundred KB).
MAX_LINE_BYTES = 16 * 1024 * 1024
_READ_BUFFER = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the file: its 1-based number and its bytes (None when too long)."""

    number: int
    data: bytes | None


class SnapshotReader:
    """Lines of a snapshot file, from line ``start_line + 1`` on.

    Use as a context manager.  ``position`` is how many bytes of the file (as stored on
    disk) have been consumed, ``size`` the file's size.
    """

    def __init__(self, path: Path, *, start_line: int = 0) -> None:
        self.path = path
        self.start_line = start_line
        try:
            self._raw: IO[bytes] = open(path, "rb")  # noqa: SIM115 (closed in close())
        except OSError as exc:
            raise InvalidInputError(f"cannot read {path}: {exc.strerror or exc}") from None
        try:
            self.size = self._raw.seek(0, io.SEEK_END)
            self._raw.seek(0)
            self.compressed = self._raw.read(2) == _GZIP_MAGIC
            self._raw.seek(0)
        except OSError as exc:
            self._raw.close()
            raise InvalidInputError(f"cannot read {path}: {exc.strerror or exc}") from None
        stream: Any = gzip.GzipFile(fileobj=self._raw, mode="rb") if self.compressed else self._raw
        self._text = io.BufferedReader(stream, _READ_BUFFER)

    @property
    def position(self) -> int:
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return self.size

    def __iter__(self) -> Iterator[Line]:
        number = 0
        readline = self._text.readline
        try:
            while True:
                data = readline(MAX_LINE_BYTES)
                if not data:
                    return
                number += 1
                if len(data) >= MAX_LINE_BYTES and not data.endswith(b"\n"):
                    self._skip_rest_of_line()
                    if number > self.start_line:
                        yield Line(number, None)
                    continue
                if number > self.start_line:
                    yield Line(number, data)
        except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
            # A truncated or corrupt .gz: what was read before stays imported.
            raise InvalidInputError(
                f"{self.path}: cannot decompress after line {number}: {exc}"
            ) from None

    def _skip_rest_of_line(self) -> None:
        while True:
            chunk = self._text.readline(MAX_LINE_BYTES)
            if not chunk or chunk.endswith(b"\n"):
                return

    def close(self) -> None:
        self._text.close()
        self._raw.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class Parsed:
    """The outcome of one line: a paper to store, a record filtered out, a problem, or
    nothing (a blank line)."""

    number: int
    paper: Paper | None = None
    problem: str | None = None
    filtered: bool = False


def _shorten(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_line(line: Line, categories: CategoryFilter) -> Parsed:
    """Decide what one line is.  Blank lines are neither papers nor problems."""
    if line.data is None:
        return Parsed(line.number, problem=f"longer than {MAX_LINE_BYTES} bytes")
    if not line.data.strip():
        return Parsed(line.number)
    try:
        obj = orjson.loads(line.data)
    except orjson.JSONDecodeError as exc:
        return Parsed(line.number, problem=f"not valid JSON: {exc.msg} at column {exc.colno}")
    if not categories.empty and isinstance(obj, dict):
        # Filter before building the record: most of a full snapshot is filtered out.
        cats = obj.get("categories")
        tokens = cats.split() if isinstance(cats, str) else cats if isinstance(cats, list) else ()
        if not categories.matches(t for t in tokens if isinstance(t, str)):
            return Parsed(line.number, filtered=True)
    try:
        paper = paper_from_json(obj)
    except InvalidInputError as exc:
        return Parsed(line.number, problem=_shorten(str(exc)))
    if not categories.matches(paper.categories):
        return Parsed(line.number, filtered=True)
    return Parsed(line.number, paper=paper)
