"""Identifiers of papers: normalizing them, and reading the ones users type."""

from __future__ import annotations

import re

from mlradar._content.text import strip_accents
from mlradar._identity.arxiv import parse_arxiv_id
from mlradar._identity.doi import normalize_doi
from mlradar.exceptions import InvalidInputError
from mlradar.types import Paper, PaperId

#: Schemes whose values name exactly one paper: two records with different values of one
#: of them are different papers.  A DOI is not among them (proceedings volumes and
#: datasets are cited with one DOI for many papers); neither is the title key.
STRONG_SCHEMES = frozenset({"arxiv", "openreview", "pmlr", "s2", "dblp", "acl"})
#: Schemes a user may type as ``scheme:value``.
TYPED_SCHEMES = STRONG_SCHEMES | {"doi"}

_SPACE = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[^\w]+")


def normalize_key(scheme: str, value: str) -> PaperId | None:
    """The normal form of one identifier, or None when ``value`` is not one."""
    scheme = scheme.strip().lower()
    value = value.strip()
    if not value:
        return None
    if scheme == "arxiv":
        try:
            return PaperId("arxiv", parse_arxiv_id(value)[0])
        except InvalidInputError:
            return None
    if scheme == "doi":
        try:
            return PaperId("doi", normalize_doi(value))
        except InvalidInputError:
            return None
    if scheme in ("s2", "dblp", "pmlr", "acl"):
        # Case carries no meaning in these (PMLR paths and DBLP keys are lowercase).
        return PaperId(scheme, _SPACE.sub("", value).lower() if scheme != "s2" else value)
    # OpenReview ids are case-sensitive; the title key is made by title_key().
    return PaperId(scheme, _SPACE.sub(" ", value))


def title_key(title: str, authors: tuple[str, ...]) -> str | None:
    """The weak key of a paper: its title and its first author's last name, folded.

    Accents, case, punctuation and spacing are folded away, so the same paper listed by
    arXiv and by a conference's site (which typeset the title differently) gets one key.
    None when there is no title or no author to tell two same-titled papers apart.
    """
    if not title or not authors:
        return None

    def fold(text: str) -> str:
        # Most titles are ASCII: lowering them is all the folding they need.
        plain = text.lower() if text.isascii() else strip_accents(text).casefold()
        return " ".join(_NOT_WORD.sub(" ", plain).split())

    first = fold(authors[0]).split()
    folded = fold(title)
    if not folded or not first:
        return None
    return f"{folded}|{first[-1]}"


def paper_keys(paper: Paper) -> tuple[PaperId, ...]:
    """Every identifier ``paper`` is found by, normalized, without repeats: its arXiv id,
    its DOI (when it parses as one), then its other identifiers."""
    found: dict[PaperId, None] = {}
    candidates = [("arxiv", paper.arxiv_id or ""), ("doi", paper.doi or "")]
    candidates += [(i.scheme, i.value) for i in paper.ids]
    for scheme, value in candidates:
        if not value:
            continue
        key = normalize_key(scheme, value) if scheme != "title" else PaperId("title", value)
        if key is not None:
            found.setdefault(key, None)
    return tuple(found)


def parse_paper_ref(text: str) -> PaperId | int:
    """What a user typed to name a paper: an arXiv id in any usual form (``2503.11677``,
    ``arXiv:2503.11677v2``, an abs/pdf link), ``doi:10.x/y``, ``openreview:ID``,
    ``pmlr:v235/name``, ``s2:ID``, ``dblp:KEY``, or ``paper:<internal id>`` (returned as
    the int).  Raises InvalidInputError for anything else."""
    raw = text.strip()
    scheme, sep, value = raw.partition(":")
    lowered = scheme.lower()
    if sep and lowered == "paper" and value.strip().isdigit():
        return int(value.strip())
    if sep and lowered in TYPED_SCHEMES and lowered != "arxiv":
        key = normalize_key(lowered, value)
        if key is None:
            raise InvalidInputError(f"{raw!r} is not a valid {lowered} identifier")
        return key
    if raw.lower().startswith(("https://doi.org/", "http://doi.org/", "http://dx.doi.org/")):
        key = normalize_key("doi", raw)
        if key is not None:
            return key
    return PaperId("arxiv", parse_arxiv_id(raw)[0])
