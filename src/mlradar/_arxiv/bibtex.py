"""BibTeX for papers: ``@misc`` arXiv preprints, ``@article`` when published.

Written by hand rather than through bibtexparser's writer because the hard part is the
escaping, which no writer does for us: arXiv metadata is "TeX-ish" text, so

* math (``$x^2$``), macros (``\\emph{...}``, ``\\'e``) and brace groups are kept as TeX;
* characters special to TeX outside math (``& % # _``, a stray ``$`` or ``^``) are escaped;
* non-ASCII characters become TeX accents (``é`` -> ``{\\'e}``), so classic BibTeX copes;
* braces are left alone only when balanced: an unbalanced field would swallow the rest of
  the file, so its braces are escaped instead;
* words with capitals inside titles (``BERT``, ``ImageNet``) are braced against
  lower-casing by bibliography styles.

Keys are ``<first author's last name><year><first title word>``, ASCII, made unique
with ``a``, ``b``, ... suffixes.  The tests parse the output back with bibtexparser.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache

from mlradar.types import Paper

_TEXT_SPECIAL = {
    "&": r"\&",
    "%": r"\%",
    "#": r"\#",
    "_": r"\_",
    "$": r"\$",
    "^": r"\textasciicircum{}",
}
_ACCENT_MACROS = frozenset("'\"`^~=.")
_WORD = re.compile(r"(?<![\w{\\])([^\W_][\w-]*)")
_STOPWORDS = frozenset(
    "a an the on of in for to and with by from at via is are as towards toward".split()  # noqa: SIM905
)
_CORPORATE = re.compile(r"\b(collaboration|consortium|team|group|project)\b", re.IGNORECASE)


@lru_cache(maxsize=4096)
def _char_to_latex(ch: str) -> str:
    """One non-ASCII character as TeX, when TeX says the same character; else itself.

    pylatexenc's table approximates some letters (``Ħ`` as ``H`` with a macron): a file
    that names an author wrongly is worse than one with a raw UTF-8 letter, which biber
    and modern BibTeX read fine.  So every mapping is checked by decoding it back.
    """
    from pylatexenc.latex2text import LatexNodes2Text  # type: ignore[import-untyped]
    from pylatexenc.latexencode import unicode_to_latex  # type: ignore[import-untyped]

    encoded = str(
        unicode_to_latex(
            ch,
            non_ascii_only=True,
            replacement_latex_protection="braces-all",
            unknown_char_warning=False,
        )
    )
    if encoded != ch and LatexNodes2Text().latex_to_text(encoded) == ch:
        return encoded
    return ch


def _to_latex(text: str) -> str:
    """Non-ASCII characters as TeX (``{\\'e}``) where that is exact; ASCII untouched."""
    if text.isascii():
        return text
    return "".join(
        ch if ch.isascii() else _char_to_latex(ch) for ch in unicodedata.normalize("NFC", text)
    )


def _math_end(text: str, start: int) -> int | None:
    """The index just past the math segment opening at ``start`` (``$`` or ``$$``)."""
    delim = "$$" if text.startswith("$$", start) else "$"
    i = start + len(delim)
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text.startswith(delim, i):
            return i + len(delim)
        i += 1
    return None


def _escape_segments(text: str) -> str:
    """Escape TeX specials outside math; keep macros, math and (for now) braces."""
    out: list[str] = []
    plain: list[str] = []
    i = 0

    def flush() -> None:
        if plain:
            out.append(_to_latex("".join(plain)))
            plain.clear()

    while i < len(text):
        ch = text[i]
        if ch == "\\":
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if not nxt:
                plain.append(r"\textbackslash{}")
                i += 1
            elif nxt.isascii() and nxt.isalpha():
                j = i + 1
                while j < len(text) and text[j].isascii() and text[j].isalpha():
                    j += 1
                plain.append(text[i:j])
                i = j
            else:
                # An escaped special (\&, \{), an accent (\'e) or a control symbol (\\).
                plain.append(text[i : i + 2])
                i += 2
            continue
        if ch == "$":
            end = _math_end(text, i)
            if end is not None:
                flush()
                out.append(text[i:end])
                i = end
                continue
        plain.append(_TEXT_SPECIAL.get(ch, ch))
        i += 1
    flush()
    return "".join(out)


def _balanced(text: str) -> bool:
    """Whether the braces balance as BibTeX counts them (it ignores backslashes)."""
    depth = 0
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _escape_braces(text: str) -> str:
    out = []
    i = 0
    while i < len(text):
        if text.startswith(("\\{", "\\}"), i):
            out.append(r"\textbraceleft{}" if text[i + 1] == "{" else r"\textbraceright{}")
            i += 2
            continue
        ch = text[i]
        if ch == "{":
            out.append(r"\textbraceleft{}")
        elif ch == "}":
            out.append(r"\textbraceright{}")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def latex_escape(text: str) -> str:
    """A field value safe between BibTeX braces (see the module docstring)."""
    text = " ".join(text.split())
    if not _balanced(text):
        # The source's own braces cannot be trusted: make them all literal characters.
        text = _escape_braces(text)
    escaped = _escape_segments(text)
    if not _balanced(escaped):  # defensive: never emit a field that breaks the file
        escaped = _escape_segments(_escape_braces(text))
    return escaped


def _protect_caps(title: str) -> str:
    """Brace words that carry capitals beyond the first letter, outside math and macros."""
    parts = re.split(r"(\$\$?.*?\$\$?|\\[A-Za-z]+|\{[^{}]*\})", title)
    for i in range(0, len(parts), 2):
        parts[i] = _WORD.sub(_protect_word, parts[i])
    return "".join(parts)


def _protect_word(m: re.Match[str]) -> str:
    word = m.group(1)
    return "{" + word + "}" if any(c.isupper() for c in word[1:]) else word


def _ascii_word(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]", "", folded).lower()


def _last_name(name: str) -> str:
    words = name.split()
    return words[-1] if words else ""


def base_key(paper: Paper) -> str:
    """``vaswani2017attention``-style key stem (ASCII letters and digits)."""
    author = _ascii_word(_last_name(paper.authors[0])) if paper.authors else ""
    year = str(paper.first_version_at.year) if paper.first_version_at else ""
    word = ""
    for w in re.findall(r"[^\W_]+", re.sub(r"\$.*?\$|\\[A-Za-z]+", " ", paper.title)):
        candidate = _ascii_word(w)
        if candidate and candidate not in _STOPWORDS:
            word = candidate
            break
    key = f"{author}{year}{word}"
    if not author or not key[0].isalpha():
        stem = ("arxiv" + _ascii_word(paper.arxiv_id)) if paper.arxiv_id else "paper"
        key = stem + (word if not author else key)
    return key


def _suffixes() -> Iterable[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    yield from letters
    n = 2
    while True:
        yield from (a + b for a in letters for b in letters) if n == 2 else (str(n),)
        n += 1


def unique_key(paper: Paper, taken: set[str]) -> str:
    """A key not in ``taken`` (which it is added to)."""
    key = base_key(paper)
    if key in taken:
        for suffix in _suffixes():
            if key + suffix not in taken:
                key += suffix
                break
    taken.add(key)
    return key


def _verbatim(value: str) -> str:
    """A DOI or URL: verbatim fields (biblatex, hyperref), so nothing is TeX-escaped; only
    braces, which would unbalance the entry, are percent-encoded as in a URL."""
    return "".join(value.split()).replace("{", "%7B").replace("}", "%7D")


def _author_field(authors: Sequence[str]) -> str:
    names = []
    for name in authors:
        value = latex_escape(name)
        # A comma, the word "and" or a corporate name would be split or inverted by BibTeX.
        if "," in name or re.search(r"\band\b", name) or _CORPORATE.search(name):
            value = "{" + value + "}"
        names.append(value)
    return " and ".join(names)


def entry(paper: Paper, key: str) -> str:
    """One BibTeX entry."""
    published = bool(paper.journal_ref or paper.doi)
    # A paper known from a conference's proceedings (its venue) and printed in no journal.
    proceedings = bool(paper.venue) and not paper.journal_ref
    fields: list[tuple[str, str]] = [
        ("title", _protect_caps(latex_escape(paper.title))),
        ("author", _author_field(paper.authors)),
    ]
    if published and paper.journal_ref:
        fields.append(("journal", latex_escape(paper.journal_ref)))
    if proceedings and paper.venue:
        fields.append(("booktitle", latex_escape(paper.venue)))
    if paper.first_version_at:
        fields.append(("year", str(paper.first_version_at.year)))
    if paper.doi:
        fields.append(("doi", _verbatim(paper.doi)))
    if paper.arxiv_id:
        fields += [("eprint", paper.arxiv_id), ("archivePrefix", "arXiv")]
        if paper.primary_category:
            fields.append(("primaryClass", paper.primary_category))
    if paper.abs_url:
        fields.append(("url", _verbatim(paper.abs_url)))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields if value)
    kind = "inproceedings" if proceedings else "article" if published else "misc"
    return f"@{kind}{{{key},\n{body}\n}}\n"


def to_bibtex(papers: Iterable[Paper]) -> str:
    """Entries for ``papers`` (each once, in order), separated by blank lines."""
    taken: set[str] = set()
    seen: set[str] = set()
    out = []
    for paper in papers:
        if paper.ref in seen:
            continue
        seen.add(paper.ref)
        out.append(entry(paper, unique_key(paper, taken)))
    return "\n".join(out)
