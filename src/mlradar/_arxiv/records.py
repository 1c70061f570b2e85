"""Paper records: from every arXiv format to :class:`~mlradar.types.Paper`, and merging.

Pure functions only.  Text is whitespace-normalised the same way for every source (arXiv
wraps abstracts at different widths in the snapshot, the API and OAI-PMH), so that the same
paper read from two sources hashes the same and a re-import finds nothing changed.  TeX in
titles and abstracts is kept as arXiv gives it (BibTeX wants it); TeX accents in author
names are decoded, because names are searched and displayed as text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any

from mlradar._identity.arxiv import OLD_ARCHIVES, parse_arxiv_id
from mlradar.exceptions import InvalidInputError
from mlradar.types import Paper, PaperVersion

#: Archives of today's taxonomy that are not also old-style id prefixes.
ARCHIVES: frozenset[str] = frozenset(OLD_ARCHIVES) | {"econ", "eess"}

_CATEGORY = re.compile(r"[a-z][a-z-]*(?:\.[A-Za-z][A-Za-z-]*)?")
_VERSION = re.compile(r"v?(\d{1,4})")
_PARENS = re.compile(r"\([^()]*\)")
#: Longer than any arXiv id or link to one: refused before any pattern runs on it.
_MAX_ID_CHARS = 300
_AUTHOR_SEP = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+|\s*;\s*")


def clean_text(value: object) -> str:
    """Collapse every run of whitespace to one space; non-strings become ""."""
    return " ".join(value.split()) if isinstance(value, str) else ""


def clean_optional(value: object) -> str | None:
    text = clean_text(value)
    return text or None


def is_category(token: str) -> bool:
    """An arXiv category (``cs.LG``, ``hep-th``, ``math``), not an MSC or ACM class code."""
    return _CATEGORY.fullmatch(token) is not None and token.split(".", 1)[0] in ARCHIVES


def clean_categories(tokens: Iterable[str], primary: str | None = None) -> tuple[str, ...]:
    """Valid categories, deduplicated, ``primary`` (when given and valid) first."""
    seen: dict[str, None] = {}
    if primary and is_category(primary):
        seen[primary] = None
    for token in tokens:
        if is_category(token):
            seen.setdefault(token, None)
    return tuple(seen)


@lru_cache(maxsize=65536)
def decode_name(name: str) -> str:
    """An author name with TeX accents (``Bal\\'azs``, ``M{\\"u}ller``) as Unicode text."""
    name = clean_text(name)
    if "\\" not in name and "{" not in name and "~" not in name:
        return name
    from pylatexenc.latex2text import LatexNodes2Text  # type: ignore[import-untyped]

    try:
        decoded = str(LatexNodes2Text(strict_latex_spaces=True).latex_to_text(name))
    except Exception:  # pylatexenc raises assorted errors on broken TeX; keep the raw name
        return name
    return clean_text(decoded) or name


def split_authors(text: str) -> tuple[str, ...]:
    """The names in an arXiv author string: ``A, B (MIT) and C`` -> (A, B, C)."""
    text = clean_text(text)
    previous = None
    while previous != text:  # nested affiliations: strip innermost first
        previous, text = text, _PARENS.sub("", text)
    names = (decode_name(n) for n in _AUTHOR_SEP.split(text))
    return tuple(n for n in names if n and n.lower() != "et al.")


def _part(parts: Sequence[Any], i: int) -> str:
    value = parts[i] if len(parts) > i else None
    return value if isinstance(value, str) else ""


def name_from_parts(parts: Sequence[Any]) -> str:
    """A snapshot ``authors_parsed`` entry ``[last, first, suffix]`` as ``first last suffix``."""
    last, first, suffix = _part(parts, 0), _part(parts, 1), _part(parts, 2)
    name = f"{first} {last}" if first and last else first or last
    if suffix:
        name = f"{name} {suffix}"
    # The common case needs no TeX decoding and no whitespace clean-up: keep it cheap.
    if "\\" in name or "{" in name or "~" in name or "  " in name or name != name.strip():
        return decode_name(name)
    return name


@lru_cache(maxsize=4096)
def parse_rfc2822(value: str) -> datetime | None:
    """``Tue, 18 Mar 2025 17:59:46 GMT`` as an aware UTC datetime, or None."""
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_iso_datetime(value: str | None) -> datetime | None:
    """``2016-05-26T17:59:46Z`` (or a bare date) as an aware UTC datetime, or None."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_day(value: object) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def version_number(value: object) -> int | None:
    """``v2`` / ``2`` / 2 -> 2."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value > 0 else None
    if isinstance(value, str):
        m = _VERSION.fullmatch(value.strip())
        if m and int(m.group(1)) > 0:
            return int(m.group(1))
    return None


def versions_upto(last: int, dates: Mapping[int, datetime | None]) -> tuple[PaperVersion, ...]:
    """Versions 1..``last``, dated where ``dates`` knows the date."""
    return tuple(PaperVersion(n, dates.get(n)) for n in range(1, last + 1))


def canonical_id(value: object) -> tuple[str, int | None]:
    """The versionless id and the version named by ``value``; InvalidInputError if none."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError("no arXiv id")
    if len(value) > _MAX_ID_CHARS:
        raise InvalidInputError(f"an id of {len(value)} characters is not an arXiv id")
    return parse_arxiv_id(value)


def identify(raw_id: object, raw_title: object) -> tuple[str, int | None, str]:
    """(versionless id, version, clean title) of a record; InvalidInputError when it has
    no valid id or no title, the two things without which a record is not a paper."""
    arxiv_id, version = canonical_id(raw_id)
    title = clean_text(raw_title)
    if not title:
        raise InvalidInputError(f"{arxiv_id}: no title")
    return arxiv_id, version, title


def paper_from_snapshot(obj: Mapping[str, Any]) -> Paper:
    """One record of arXiv's bulk metadata snapshot (the Kaggle ``arxiv-metadata-oai``
    JSON lines schema).  Raises InvalidInputError when it lacks an id or a title."""
    arxiv_id, _, title = identify(obj.get("id"), obj.get("title"))
    parsed = obj.get("authors_parsed")
    if isinstance(parsed, list) and parsed and all(isinstance(a, list) for a in parsed):
        authors = tuple(n for n in (name_from_parts(a) for a in parsed) if n)
    else:
        authors = split_authors(obj.get("authors") or "")
    cats = obj.get("categories")
    categories = clean_categories(cats.split() if isinstance(cats, str) else ())
    versions: list[PaperVersion] = []
    raw_versions = obj.get("versions")
    if isinstance(raw_versions, list):
        for v in raw_versions:
            if not isinstance(v, Mapping):
                continue
            number = version_number(v.get("version"))
            if number is not None:
                created = v.get("created")
                versions.append(
                    PaperVersion(
                        number, parse_rfc2822(created) if isinstance(created, str) else None
                    )
                )
    versions.sort(key=lambda v: v.version)
    first = versions[0].created.date() if versions and versions[0].created else None
    updated = parse_day(obj.get("update_date"))
    if updated is None and versions and versions[-1].created:
        updated = versions[-1].created.date()
    return Paper(
        arxiv_id=arxiv_id,
        title=title,
        authors=authors,
        categories=categories,
        abstract=clean_text(obj.get("abstract")),
        first_version_at=first,
        updated_at=updated,
        versions=tuple(versions),
        comments=clean_optional(obj.get("comments")),
        journal_ref=clean_optional(obj.get("journal-ref")),
        doi=clean_optional(obj.get("doi")),
        license=clean_optional(obj.get("license")),
        submitter=clean_optional(obj.get("submitter")),
        report_no=clean_optional(obj.get("report-no")),
    )


def paper_from_listing_json(obj: Mapping[str, Any]) -> Paper:
    """One paper of a daily listing in the JSON form some mirrors publish (``id``,
    ``title``, ``authors`` list, ``categories`` list, ``comment``, ``summary``)."""
    arxiv_id, version, title = identify(obj.get("id"), obj.get("title"))
    authors_raw = obj.get("authors")
    if isinstance(authors_raw, list):
        authors = tuple(n for n in (decode_name(a) for a in authors_raw if isinstance(a, str)) if n)
    else:
        authors = split_authors(authors_raw if isinstance(authors_raw, str) else "")
    cats = obj.get("categories")
    tokens = cats if isinstance(cats, list) else str(cats or "").split()
    return Paper(
        arxiv_id=arxiv_id,
        title=title,
        authors=authors,
        categories=clean_categories(t for t in tokens if isinstance(t, str)),
        abstract=clean_text(obj.get("summary") or obj.get("abstract")),
        first_version_at=None,
        updated_at=None,
        versions=versions_upto(version, {}) if version else (),
        comments=clean_optional(obj.get("comment") or obj.get("comments")),
    )


def paper_from_json(obj: object) -> Paper:
    """A snapshot record or a listing record, told apart by their fields."""
    if not isinstance(obj, Mapping):
        raise InvalidInputError(f"expected a JSON object, got {type(obj).__name__}")
    if "summary" in obj and "abstract" not in obj:
        return paper_from_listing_json(obj)
    return paper_from_snapshot(obj)


@dataclass(frozen=True, slots=True)
class CategoryFilter:
    """Which papers an import keeps: ``cs.LG,cs.CL,stat.ML,cs.*`` (any category matches).

    ``cs.*`` and a bare archive ``cs`` both mean every category of the archive.
    An empty filter keeps everything.
    """

    exact: frozenset[str] = frozenset()
    archives: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, spec: str | Iterable[str] | None) -> CategoryFilter:
        """Parse a comma/space-separated spec; InvalidInputError names a bad pattern."""
        if spec is None:
            return cls()
        tokens = re.split(r"[\s,]+", spec) if isinstance(spec, str) else list(spec)
        exact: set[str] = set()
        archives: set[str] = set()
        for raw in tokens:
            token = raw.strip()
            if not token:
                continue
            base = token[:-2] if token.endswith(".*") else token
            if base in ARCHIVES and (token.endswith(".*") or "." not in token):
                archives.add(base)
            elif is_category(token):
                exact.add(token)
            else:
                raise InvalidInputError(
                    f"{token!r} is not an arXiv category or pattern "
                    "(expected e.g. cs.LG, stat.ML or cs.*)"
                )
        return cls(frozenset(exact), frozenset(archives))

    @property
    def empty(self) -> bool:
        return not self.exact and not self.archives

    def matches(self, categories: Iterable[str]) -> bool:
        if self.empty:
            return True
        exact, archives = self.exact, self.archives
        return any(c in exact or c.split(".", 1)[0] in archives for c in categories)

    def __str__(self) -> str:
        return ",".join(sorted(self.exact) + sorted(f"{a}.*" for a in self.archives))
