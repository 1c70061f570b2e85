"""The documents the rankers see, and a reader for arXiv's bulk-metadata JSON lines.

Rankers work on row indices into a :class:`Corpus`; they never see database rows.
Dates are whole days since the Unix epoch (``int32``), which keeps windows cheap
to select at a million papers.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt
import orjson

from mlradar.exceptions import InvalidInputError

_EPOCH = date(1970, 1, 1).toordinal()


def day_number(d: date) -> int:
    """Days since 1970-01-01: the date unit every ranker array uses."""
    return d.toordinal() - _EPOCH


def day_to_date(n: int) -> date:
    return date.fromordinal(int(n) + _EPOCH)


@dataclass(frozen=True, slots=True)
class Doc:
    """One rankable paper: the text fields and the first day it was listed."""

    key: str
    title: str
    abstract: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    day: int
    #: The submitter's comments ("Project page: https://...", "Accepted at ICLR").
    comments: str = ""
    #: How many versions the snapshot lists (1 for a paper seen only at its first listing).
    versions: int = 1


@dataclass(frozen=True, slots=True)
class Corpus:
    """Documents in a fixed order; rankers address them by row."""

    docs: tuple[Doc, ...]

    def __len__(self) -> int:
        return len(self.docs)

    @property
    def days(self) -> npt.NDArray[np.int32]:
        return np.fromiter((d.day for d in self.docs), dtype=np.int32, count=len(self.docs))

    def rows(self, keys: Iterable[str]) -> npt.NDArray[np.int64]:
        index = {d.key: i for i, d in enumerate(self.docs)}
        return np.array([index[k] for k in keys if k in index], dtype=np.int64)


def content_text(doc: Doc) -> str:
    """Title and abstract: what our lexical and semantic features read."""
    return f"{doc.title}. {doc.abstract}"


def sanity_text(doc: Doc) -> str:
    """arxiv-sanity-lite's feature text: title, abstract and author names, space-joined."""
    return " ".join([doc.title, doc.abstract, " ".join(doc.authors)])


def _authors(record: dict[str, object]) -> tuple[str, ...]:
    parsed = record.get("authors_parsed")
    if isinstance(parsed, list) and parsed:
        names = []
        for part in parsed:
            if isinstance(part, list) and part:
                last, first = str(part[0]), str(part[1]) if len(part) > 1 else ""
                names.append(f"{first} {last}".strip())
        return tuple(names)
    raw = record.get("authors")
    return tuple(a.strip() for a in str(raw).split(",") if a.strip()) if raw else ()


def doc_from_snapshot(record: dict[str, object]) -> Doc:
    """One object of arXiv's bulk-metadata snapshot to a :class:`Doc`."""
    versions = record.get("versions")
    try:
        listed = date.fromisoformat(str(record["update_date"])[:10])
        return Doc(
            key=str(record["id"]),
            title=" ".join(str(record.get("title") or "").split()),
            abstract=" ".join(str(record.get("abstract") or "").split()),
            authors=_authors(record),
            categories=tuple(str(record.get("categories") or "").split()),
            day=day_number(listed),
            comments=" ".join(str(record.get("comments") or "").split()),
            versions=max(len(versions), 1) if isinstance(versions, list) else 1,
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidInputError(f"not an arXiv metadata record: {exc}") from exc


def read_snapshot(path: Path, limit: int | None = None) -> Corpus:
    """Read arXiv bulk-metadata JSON lines (optionally gzipped), sorted by listing day."""
    if not path.is_file():
        raise InvalidInputError(f"no such data file: {path}")

    def lines() -> Iterator[str]:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as fh:
            yield from fh

    docs: list[Doc] = []
    try:
        for number, line in enumerate(lines(), 1):
            if not line.strip():
                continue
            try:
                docs.append(doc_from_snapshot(orjson.loads(line)))
            except (orjson.JSONDecodeError, InvalidInputError) as exc:
                raise InvalidInputError(f"{path}:{number}: {exc}") from exc
            if limit is not None and len(docs) >= limit:
                break
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read {path}: {exc}") from exc
    docs.sort(key=lambda d: d.day)
    return Corpus(tuple(docs))


def corpus_of(docs: Sequence[Doc]) -> Corpus:
    return Corpus(tuple(docs))
