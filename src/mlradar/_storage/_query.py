"""The search query language, parsed once and rendered per database.

Syntax, as on a web search box: words must all match; ``"a phrase"`` matches in order;
``OR`` between two terms matches either; ``-word`` excludes; ``word*`` matches a prefix.
Anything else is taken literally, so no user input can produce an SQL or FTS syntax error.

English function words ("and", "from", "the"...) standing alone are dropped, as
PostgreSQL's ``english`` configuration does, unless nothing else is left: almost every
document holds them, so they barely move a score (bm25 gives a word in over half the
documents no weight at all) while matching them is the costliest part of a search on
SQLite (a million-row posting list merged, then counted for its weight).  Inside quotes
they are kept: a phrase means its exact words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlradar.exceptions import SearchQueryError

#: Most matches of one query that are ranked (the newest ones): see
#: :meth:`~mlradar._storage._items.ItemsStorage.search`.
RANK_LIMIT = 20_000

_TOKEN = re.compile(r'(-?)"([^"]*)"?(\*?)|(\S+)')
_WORDLIKE = re.compile(r"\w", re.UNICODE)
_WORDS = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 32
#: PostgreSQL's (Snowball's) English stop words, so that both databases drop the same.
_STOP_WORDS = """i me my myself we our ours ourselves you your yours yourself yourselves he him his
    himself she her hers herself it its itself they them their theirs themselves what which
    who whom this that these those am is are was were be been being have has had having do
    does did doing a an the and but if or because as until while of at by for with about
    against between into through during before after above below to from up down in out on
    off over under again further then once here there when where why how all any both each
    few more most other some such no nor not only own same so than too very s t can will
    just don should now"""
STOP_WORDS = frozenset(_STOP_WORDS.split())


@dataclass(frozen=True, slots=True)
class Term:
    text: str
    phrase: bool = False
    prefix: bool = False
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Query:
    """Positive clauses are ANDed; the terms inside one clause are ORed."""

    clauses: tuple[tuple[Term, ...], ...]
    excluded: tuple[Term, ...] = ()

    @property
    def has_prefix(self) -> bool:
        """Whether any term (excluded ones too) is a ``word*`` prefix."""
        return any(t.prefix for c in (*self.clauses, self.excluded) for t in c)

    @property
    def has_phrase(self) -> bool:
        """Whether any term is several words (a quoted phrase or a hyphenated word)."""
        return any(
            len(_WORDS.findall(t.text)) > 1 for c in (*self.clauses, self.excluded) for t in c
        )


def parse_query(text: str) -> Query:
    """Parse a user's query.  Raises SearchQueryError when nothing searchable is left."""
    terms: list[Term | None] = []  # None marks an OR between the neighbours
    for m in _TOKEN.finditer(text):
        neg, phrase, star, word = m.groups()
        if word is not None:
            if word == "OR":
                terms.append(None)
                continue
            negated = word.startswith("-") and len(word) > 1
            word = word[1:] if negated else word
            prefix = word.endswith("*") and len(word) > 1
            word = word.rstrip("*")
            if _WORDLIKE.search(word):
                terms.append(Term(word, negated=negated, prefix=prefix))
        elif phrase is not None and _WORDLIKE.search(phrase):
            terms.append(Term(" ".join(phrase.split()), True, bool(star), bool(neg)))

    clauses: list[list[Term]] = []
    excluded: list[Term] = []
    join_next = False
    for term in terms:
        if term is None:
            join_next = bool(clauses)
            continue
        if term.negated:
            excluded.append(term)
        elif join_next:
            clauses[-1].append(term)
        else:
            clauses.append([term])
        join_next = False
    if not clauses and excluded:
        # Ranking needs something to look for: say so rather than "nothing to search for".
        raise SearchQueryError(
            f"only exclusions in {text!r}: add a word to look for, e.g. "
            f"'models -{excluded[0].text}'"
        )
    if not clauses:
        raise SearchQueryError(f"nothing to search for in {text!r}: give at least one word")
    content = [c for c in clauses if not _is_stop_word(c)]
    if content:
        clauses = content
    if sum(len(c) for c in clauses) + len(excluded) > MAX_TERMS:
        raise SearchQueryError(f"too many search terms (at most {MAX_TERMS})")
    return Query(tuple(tuple(c) for c in clauses), tuple(excluded))


def _is_stop_word(clause: list[Term]) -> bool:
    if len(clause) != 1 or clause[0].phrase or clause[0].prefix:
        return False
    words = _WORDS.findall(clause[0].text.lower())
    return len(words) == 1 and words[0] in STOP_WORDS


def _fts5_term(t: Term) -> str:
    quoted = '"' + t.text.replace('"', '""') + '"'
    return quoted + ("*" if t.prefix else "")


def to_fts5(query: Query) -> str:
    """Render for SQLite FTS5: every term is a quoted string, so no FTS operator leaks in."""
    groups = []
    for clause in query.clauses:
        rendered = " OR ".join(_fts5_term(t) for t in clause)
        groups.append(f"({rendered})" if len(clause) > 1 else rendered)
    expr = " AND ".join(groups)
    for t in query.excluded:
        expr = f"({expr}) NOT {_fts5_term(t)}"
    return expr


def _tsquery_term(t: Term) -> str:
    # Only word characters reach to_tsquery, so its operators cannot be injected.
    words = _WORDS.findall(t.text)
    rendered = " <-> ".join(words)
    if t.prefix:
        rendered += ":*"
    return f"({rendered})" if len(words) > 1 else rendered


def to_tsquery(query: Query) -> str:
    """Render for PostgreSQL ``to_tsquery``: phrases use ``<->``, prefixes ``:*``."""
    groups = [" | ".join(_tsquery_term(t) for t in clause) for clause in query.clauses]
    expr = " & ".join(f"({g})" for g in groups)
    for t in query.excluded:
        expr += f" & !{_tsquery_term(t)}"
    return expr
