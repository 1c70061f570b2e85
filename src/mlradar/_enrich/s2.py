"""Semantic Scholar: the Graph API (a paper, its references and citations) and the
Recommendations API (papers like it), read politely and parsed strictly.

Politeness is the client's (:class:`~mlradar._fetch.HostPolicy`): one request at a time,
``s2_interval_seconds`` apart (1 s, the public limit without a key; a key's holder may set
its own).  A 429 pauses the host (Retry-After) and is retried.  An answer in an
unexpected shape is a :class:`~mlradar.exceptions.ParseError` naming what was wrong.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from mlradar._config import Settings
from mlradar._fetch import Fetcher, HostPolicy
from mlradar.exceptions import ParseError
from mlradar.types import Enrichment, Paper, S2Paper

Kind = Literal["paper", "references", "citations", "recommendations"]
#: What ``enrich`` asks for each paper, in order.
KINDS: tuple[Kind, ...] = ("paper", "references", "citations", "recommendations")
PAPER_FIELDS = "title,externalIds,venue,year,citationCount,influentialCitationCount"
LIST_FIELDS = "title,externalIds,year"
#: Rows asked for per list (the APIs' own page sizes: 1,000 for edges, 500 for
#: recommendations; a hundred is what a reader looks at).
LIST_LIMIT = 100
#: Public Semantic Scholar hosts (the configured base URL's host is added).
S2_HOSTS = ("api.semanticscholar.org",)


def s2_policies(settings: Settings) -> dict[str, HostPolicy]:
    """One request at a time, ``s2_interval_seconds`` apart; at least 1 s without a key."""
    interval = settings.s2_interval_seconds
    if not settings.s2_api_key:
        interval = max(interval, 1.0)
    policy = HostPolicy(max_connections=1, min_interval=interval, max_retries=3, group="s2")
    hosts = {*S2_HOSTS, urlsplit(settings.s2_api_url).hostname or S2_HOSTS[0]}
    return dict.fromkeys(sorted(hosts), policy)


def s2_ref(paper: Paper | None, ref: str) -> str | None:
    """How Semantic Scholar names a paper: ``arXiv:<id>``, ``DOI:<doi>``, or its own id."""
    if paper is not None:
        if paper.arxiv_id:
            return f"arXiv:{paper.arxiv_id}"
        if paper.doi:
            return f"DOI:{paper.doi}"
        own = [i.value for i in paper.ids if i.scheme == "s2"]
        return own[0] if own else None
    text = ref.strip()
    lowered = text.lower()
    for prefix, label in (("arxiv:", "arXiv:"), ("doi:", "DOI:"), ("s2:", "")):
        if lowered.startswith(prefix):
            return label + text[len(prefix) :]
    return text or None


class S2Client:
    """Requests to one Semantic Scholar endpoint (``base_url``: a setting; tests point it
    at a loopback server)."""

    def __init__(self, fetcher: Fetcher, base_url: str, api_key: str | None = None) -> None:
        self._fetcher = fetcher
        self._base = base_url.rstrip("/")
        self._headers = {"x-api-key": api_key} if api_key else {}

    def url(self, kind: Kind, ref: str) -> str:
        one = quote(ref, safe=":/.")
        if kind == "paper":
            return f"{self._base}/graph/v1/paper/{one}?fields={PAPER_FIELDS}"
        if kind == "recommendations":
            return (
                f"{self._base}/recommendations/v1/papers/forpaper/{one}"
                f"?fields={LIST_FIELDS}&limit={LIST_LIMIT}"
            )
        return f"{self._base}/graph/v1/paper/{one}/{kind}?fields={LIST_FIELDS}&limit={LIST_LIMIT}"

    async def get(self, kind: Kind, ref: str) -> tuple[int, str]:
        """``(status, body)``: 200 with the answer (checked to parse), or 404 when Semantic
        Scholar does not know the paper.  Other failures raise FetchError/ParseError."""
        url = self.url(kind, ref)
        response = await self._fetcher.get(
            url, accept="application/json", ok_statuses=(404,), extra_headers=self._headers
        )
        body = response.content.decode("utf-8", "replace")
        if response.status == 404:
            return 404, body
        parse(kind, body, url)  # refuse to cache what cannot be read back
        return response.status, body


def _load(body: str, where: str) -> Mapping[str, Any]:
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise ParseError(
            where, f"Semantic Scholar sent something that is not JSON: {exc}"
        ) from None
    if not isinstance(value, dict):
        raise ParseError(
            where, f"Semantic Scholar sent a JSON {type(value).__name__}, not an object"
        )
    return value


def _int(value: Any, name: str, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParseError(where, f"Semantic Scholar's {name} is not a number: {value!r:.40}")
    return value


def _str(value: Any, name: str, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ParseError(where, f"Semantic Scholar's {name} is not text: {value!r:.40}")
    return value


def _paper(obj: Any, where: str) -> S2Paper | None:
    if not isinstance(obj, dict):
        raise ParseError(where, f"a paper in Semantic Scholar's list is not an object: {obj!r:.40}")
    s2_id = _str(obj.get("paperId"), "paperId", where)
    if s2_id is None:
        return None  # a reference S2 could not resolve: nothing to link
    ids = obj.get("externalIds") or {}
    if not isinstance(ids, dict):
        raise ParseError(where, "Semantic Scholar's externalIds is not an object")
    doi = _str(ids.get("DOI"), "DOI", where)
    return S2Paper(
        s2_id=s2_id,
        title=_str(obj.get("title"), "title", where),
        arxiv_id=_str(ids.get("ArXiv"), "ArXiv id", where),
        doi=doi.lower() if doi else None,
        year=_int(obj.get("year"), "year", where),
    )


def parse(kind: Kind, body: str, where: str = "Semantic Scholar") -> Any:
    """The answer of one request: a dict of the paper's fields, or a tuple of papers."""
    data = _load(body, where)
    if kind == "paper":
        return {
            "s2_id": _str(data.get("paperId"), "paperId", where),
            "title": _str(data.get("title"), "title", where),
            "venue": _str(data.get("venue"), "venue", where) or None,
            "year": _int(data.get("year"), "year", where),
            "citation_count": _int(data.get("citationCount"), "citationCount", where),
            "influential_citation_count": _int(
                data.get("influentialCitationCount"), "influentialCitationCount", where
            ),
        }
    key, inner = (
        ("recommendedPapers", None)
        if kind == "recommendations"
        else ("data", "citedPaper" if kind == "references" else "citingPaper")
    )
    rows = data.get(key)
    if not isinstance(rows, list):
        raise ParseError(where, f"Semantic Scholar's answer has no {key!r} list")
    out = []
    for row in rows:
        if inner is not None:
            if not isinstance(row, dict) or inner not in row:
                raise ParseError(where, f"a row of Semantic Scholar's {kind} has no {inner!r}")
            row = row[inner]
        found = _paper(row, where)
        if found is not None:
            out.append(found)
    return tuple(out)


def enrichment_from(
    ref: str, answers: Mapping[str, tuple[int, str | None, datetime]]
) -> Enrichment:
    """The record of the cached answers of one paper (``kind -> (status, body, when)``)."""
    head = answers.get("paper")
    if head is None:
        return Enrichment(ref, None, None, None, None, None, None, error="not asked yet")
    status, body, when = head
    if status != 200 or body is None:
        return Enrichment(
            ref,
            None,
            None,
            None,
            None,
            None,
            None,
            fetched_at=when,
            error="Semantic Scholar does not know this paper",
        )
    fields = parse("paper", body)
    lists: dict[str, tuple[S2Paper, ...]] = {}
    for kind in ("references", "citations", "recommendations"):
        got = answers.get(kind)
        lists[kind] = parse(kind, got[1]) if got and got[0] == 200 and got[1] else ()
    return Enrichment(
        ref=ref,
        s2_id=fields["s2_id"],
        title=fields["title"],
        citation_count=fields["citation_count"],
        influential_citation_count=fields["influential_citation_count"],
        venue=fields["venue"],
        year=fields["year"],
        references=lists["references"],
        citations=lists["citations"],
        recommended=lists["recommendations"],
        fetched_at=when,
    )
