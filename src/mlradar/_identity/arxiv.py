"""arXiv identifiers: finding them in text and links, and parsing one given by a user.

Identifiers come without their version suffix (``2503.11677``, not ``2503.11677v2``), the
form :class:`mlradar.types.Paper` stores.  Old-style identifiers lose their subject class
(``math.GT/0309136`` becomes ``math/0309136``), which is how arXiv's metadata names them.

The extraction rule, chosen to avoid false positives in prose:

* a **new-style** id (``YYMM.NNNN`` up to 2014, ``YYMM.NNNNN`` since 2015) counts only when
  it follows ``arXiv:`` / ``arXiv`` (any case, optional spaces) or sits in a link of a site
  that names papers by arXiv id: ``arxiv.org/{abs,pdf,html,format,ps,src}/`` on any arxiv.org
  host (``export.``, ``www.``, ``ar5iv.labs.``), ``huggingface.co/papers/``,
  ``alphaxiv.org/{abs,overview,pdf}/``, ``ar5iv.org/{abs,html}/``,
  ``arxiv-sanity(-lite).com/abs/``, ``semanticscholar.org/arxiv/``.  A bare ``2503.11677``
  in prose does not count: it is indistinguishable from a version number or a price;
* an **old-style** id (``archive[.SC]/YYMMNNN``) counts after such a prefix, and also bare,
  because a known archive name followed by seven digits is distinctive;
* every candidate is validated: month 01-12, year from 2007 (new style) or 1991-2007 (old
  style), four digits after the dot up to 1412 and five from 1501.
"""

from __future__ import annotations

import re

from mlradar.exceptions import InvalidInputError

#: Archives of old-style identifiers (before April 2007).
OLD_ARCHIVES: tuple[str, ...] = (
    "acc-phys",
    "adap-org",
    "alg-geom",
    "ao-sci",
    "astro-ph",
    "atom-ph",
    "bayes-an",
    "chao-dyn",
    "chem-ph",
    "cmp-lg",
    "comp-gas",
    "cond-mat",
    "cs",
    "dg-ga",
    "funct-an",
    "gr-qc",
    "hep-ex",
    "hep-lat",
    "hep-ph",
    "hep-th",
    "math",
    "math-ph",
    "mtrl-th",
    "nlin",
    "nucl-ex",
    "nucl-th",
    "patt-sol",
    "physics",
    "plasm-ph",
    "q-alg",
    "q-bio",
    "q-fin",
    "quant-ph",
    "solv-int",
    "stat",
    "supr-con",
)

# Longest first, so "math-ph" is not read as "math" followed by junk.
_ARCHIVE = "|".join(sorted((re.escape(a) for a in OLD_ARCHIVES), key=len, reverse=True))
_NEW = r"(?P<new>\d{4}\.\d{4,5})"
_OLD = rf"(?P<old>(?P<arch>{_ARCHIVE})(?:\.[A-Za-z][A-Za-z-]{{0,15}})?/(?P<oldnum>\d{{7}}))"
_VERSION = r"(?:v(?P<ver>\d{1,3}))?"
# Bounded, so that a match never runs past the window _anchor_windows gives it.
_TEXT_PREFIX = r"(?<!\w)arxiv\s{0,3}:?\s{0,3}"
_LINK_PREFIX = (
    r"(?:arxiv\.org/(?:abs|pdf|html|format|ps|src)/"
    r"|(?:huggingface|hf)\.co/papers/"
    r"|alphaxiv\.org/(?:abs|overview|pdf)/"
    r"|ar5iv\.org/(?:abs|html)/"
    r"|arxiv-sanity(?:-lite)?\.com/abs/"
    r"|semanticscholar\.org/arxiv/)"
)
# Not glued to more digits: a sixth digit after the dot, or an eighth, makes it no id.
_END = r"(?!\d)"

_BARE_OLD = rf"(?<![\w./-])(?=(?:{_ARCHIVE})(?:\.[A-Za-z][A-Za-z-]{{0,15}})?/\d{{7}})"
_IN_TEXT = re.compile(
    rf"(?:{_TEXT_PREFIX}|{_LINK_PREFIX}|{_BARE_OLD})(?:{_NEW}|{_OLD}){_VERSION}{_END}",
    re.IGNORECASE,
)
# Where an id can start: a prefix, or (old style, bare) the "/" before seven digits.  Scanning
# the whole text with _IN_TEXT is slow (it tries every alternative at every character);
# finding these anchors in lowercased text with str.find is fast, and _IN_TEXT then runs on a
# small window around each.
_ANCHORS = (
    "arxiv",
    "hf.co/papers/",
    "huggingface.co/papers/",
    "alphaxiv.org/",
    "ar5iv.org/",
    "semanticscholar.org/arxiv/",
)
_BARE_OLD_ANCHOR = re.compile(r"/\d{7}")
_WINDOW_BEFORE = 40
_WINDOW_AFTER = 120


_ONE = re.compile(
    rf"(?:(?:https?://)?(?:[\w-]+\.)*{_LINK_PREFIX}|arxiv\s*:?\s*)?"
    rf"(?:{_NEW}|{_OLD}){_VERSION}(?:\.pdf)?/?(?:[?#]\S*)?",
    re.IGNORECASE,
)


def _new_style_problem(ident: str) -> str | None:
    """Why ``ident`` (YYMM.NNNN[N]) is not a valid new-style id, or None when it is."""
    yymm, number = ident.split(".")
    year, month = int(yymm[:2]), int(yymm[2:])
    if not 1 <= month <= 12:
        return f"month {month:02d} does not exist"
    if year < 7 or (year == 7 and month < 4):
        return "new-style ids start in April 2007"
    if len(number) == 4 and int(yymm) >= 1501:
        return "ids since January 2015 have five digits after the dot"
    if len(number) == 5 and int(yymm) < 1501:
        return "ids before 2015 have four digits after the dot"
    return None


def _old_style_problem(number: str) -> str | None:
    year, month = int(number[:2]), int(number[2:4])
    if not 1 <= month <= 12:
        return f"month {month:02d} does not exist"
    if 8 <= year <= 90:
        return "old-style ids run from 1991 to 2007"
    return None


def _from_match(m: re.Match[str]) -> tuple[str, str | None]:
    """(canonical id, why it is invalid or None)."""
    new = m.group("new")
    if new is not None:
        return new, _new_style_problem(new)
    ident = f"{m.group('arch').lower()}/{m.group('oldnum')}"
    return ident, _old_style_problem(m.group("oldnum"))


def _anchor_windows(text: str) -> list[tuple[int, int]]:
    """Merged (start, end) windows around every place an id could be."""
    lowered = text.lower()
    anchors: list[int] = []
    for needle in _ANCHORS:
        at = lowered.find(needle)
        while at != -1:
            anchors.append(at)
            at = lowered.find(needle, at + 1)
    if "/" in text:
        anchors.extend(m.start() for m in _BARE_OLD_ANCHOR.finditer(text))
    windows: list[tuple[int, int]] = []
    for at in sorted(anchors):
        start, end = max(0, at - _WINDOW_BEFORE), at + _WINDOW_AFTER
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(end, windows[-1][1]))
        else:
            windows.append((start, end))
    return windows


def extract_arxiv_ids(text: str) -> list[str]:
    """The arXiv ids named in ``text`` (prose, HTML or URLs), versionless, deduplicated,
    in order of first appearance.  See the module docstring for what counts."""
    if not text:
        return []
    found: dict[str, None] = {}
    last_end = 0
    for start, end in _anchor_windows(text):
        # A match is at most ~75 characters from its anchor, so it ends inside the window
        # with at least one character to spare for the (?!\d) check.
        for m in _IN_TEXT.finditer(text, max(start, last_end), end):
            last_end = max(last_end, m.end())
            ident, problem = _from_match(m)
            if problem is None:
                found.setdefault(ident, None)
    return list(found)


def parse_arxiv_id(s: str) -> tuple[str, int | None]:
    """Parse one arXiv reference given by a user: a bare id (``2503.11677``,
    ``hep-th/9901001``), ``arXiv:2503.11677v2``, or an abs/pdf/html link.

    Returns (id without version, version or None).  Raises
    :class:`~mlradar.exceptions.InvalidInputError` when ``s`` is not an arXiv id.
    """
    text = s.strip()
    m = _ONE.fullmatch(text)
    if m is None:
        raise InvalidInputError(
            f"{s!r} is not an arXiv id (expected e.g. 2503.11677, arXiv:2503.11677v2, "
            "hep-th/9901001 or an arxiv.org/abs/ link)"
        )
    ident, problem = _from_match(m)
    if problem is not None:
        raise InvalidInputError(f"{s!r} is not a valid arXiv id: {problem}")
    version = m.group("ver")
    if version is not None and int(version) == 0:
        raise InvalidInputError(f"{s!r} is not a valid arXiv id: versions start at v1")
    return ident, int(version) if version is not None else None
