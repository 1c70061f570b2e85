"""PMLR volumes: the papers of ``pmlr:v235`` (ICML 2024), AISTATS, COLT, UAI...

The volume page (``https://proceedings.mlr.press/v235/``) lists every paper as one
``div.paper``: its title (``p.title``), authors (``span.authors``), and links (``abs``,
``Download PDF``, sometimes ``OpenReview``).  It is parsed with lxml's HTML parser, never
with patterns over the markup.  The venue comes from the volume's heading ("Volume 235:
International Conference on Machine Learning, 21-27 July 2024, ...") as ``ICML 2024
(PMLR v235)``.

Each paper becomes a :class:`~mlradar.types.Paper` known by ``("pmlr", "v235/<key>")``
(and its OpenReview forum when linked), which joins its arXiv record by title and first
author, and an item of the source linking its abstract page.  The page is static:
conditional GETs keep re-reading it cheap, and it is read once a day.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from lxml import etree, html

from mlradar._config import Settings
from mlradar._connectors.base import (
    FetchContext,
    FetchResult,
    ResolveContext,
    SourceRef,
    SourceSpec,
    state_text,
)
from mlradar._connectors.proceedings import paper_entry
from mlradar._fetch import HostPolicy
from mlradar._identity.venues import PMLR_HOSTS, openreview_id
from mlradar._model import ParsedEntry
from mlradar.exceptions import InvalidInputError, ParseError
from mlradar.types import Paper, PaperId

HTML_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
REFRESH_SECONDS = 24 * 3600
#: Papers read from one volume at most (ICML 2024 has 2,610).
MAX_PAPERS = 10_000

_VOLUME = re.compile(r"^v?(?P<n>\d{1,4})$", re.IGNORECASE)
_VOLUME_PATH = re.compile(r"^/v(?P<n>\d{1,4})(?:/(?:index\.html)?)?$", re.IGNORECASE)
_PAPER_FILE = re.compile(r"(?P<key>[a-z0-9_-]{2,100})\.html$", re.IGNORECASE)
_YEAR = re.compile(r"\b(19[89]\d|20\d\d)\b")
#: The conferences PMLR publishes most, by the name their volumes give.
ACRONYMS: Mapping[str, str] = {
    "international conference on machine learning": "ICML",
    "international conference on artificial intelligence and statistics": "AISTATS",
    "conference on learning theory": "COLT",
    "conference on uncertainty in artificial intelligence": "UAI",
    "asian conference on machine learning": "ACML",
    "conference on robot learning": "CoRL",
    "learning for dynamics and control conference": "L4DC",
    "conference on lifelong learning agents": "CoLLAs",
    "international conference on algorithmic learning theory": "ALT",
}


def parse_volume(text: str) -> str | None:
    """``v235`` for ``pmlr:v235``, ``pmlr:235`` or ``https://proceedings.mlr.press/v235/``;
    None when ``text`` is neither; InvalidInputError when it is PMLR's but no volume."""
    raw = text.strip()
    if raw.lower().startswith("pmlr:"):
        m = _VOLUME.match(raw[len("pmlr:") :].strip())
        if m is None:
            raise InvalidInputError(f"{raw!r} is not a PMLR volume: use pmlr:v235")
        return f"v{int(m.group('n'))}"
    parts = urlsplit(raw if "://" in raw else "https://" + raw)
    if parts.scheme not in ("http", "https") or (parts.hostname or "") not in PMLR_HOSTS:
        return None
    m = _VOLUME_PATH.match(parts.path)
    if m is None:
        raise InvalidInputError(
            f"{raw}: follow a volume, https://proceedings.mlr.press/v235/ (or pmlr:v235)"
        )
    return f"v{int(m.group('n'))}"


def venue_of(heading: str | None, volume: str) -> str:
    """``ICML 2024 (PMLR v235)`` from a volume heading; the conference's own name when
    it has no known acronym; ``PMLR v235`` without a heading."""
    tag = f"PMLR {volume}"
    if not heading:
        return tag
    text = " ".join(heading.split())
    name = text.split(":", 1)[1] if ":" in text else text
    name = name.split(",", 1)[0].strip()
    lowered = name.lower()
    # "Proceedings of The 27th International Conference on ...", "The Thirty Seventh
    # Annual Conference on ...": the known name inside, longest first.
    known = next(
        (ACRONYMS[k] for k in sorted(ACRONYMS, key=len, reverse=True) if k in lowered), None
    )
    label = known or name
    year = _YEAR.search(text)
    label = f"{label} {year.group(1)}" if year else label
    return f"{label} ({tag})" if label else tag


@dataclass(frozen=True, slots=True)
class VolumePage:
    title: str | None
    venue: str
    papers: tuple[Paper, ...]
    entries: tuple[ParsedEntry, ...]
    skipped: int = 0


def _text(element: etree._Element | None) -> str:
    if element is None:
        return ""
    text = "".join(t for t in element.itertext() if isinstance(t, str))
    return " ".join(text.replace("\xa0", " ").split())


def _elements(node: etree._Element, path: str) -> list[etree._Element]:
    found = node.xpath(path)
    return [e for e in found if isinstance(e, etree._Element)] if isinstance(found, list) else []


def _with_class(css_class: str, tag: str = "*") -> str:
    return f".//{tag}[contains(concat(' ', normalize-space(@class), ' '), ' {css_class} ')]"


def _first(element: etree._Element, css_class: str, tag: str = "*") -> etree._Element | None:
    found = _elements(element, _with_class(css_class, tag))
    return found[0] if found else None


def parse_volume_page(content: bytes, url: str, volume: str) -> VolumePage:
    """A volume page as papers and entries.  ParseError when it is not a volume page."""
    if not content.strip():
        raise ParseError(url, "empty response where a PMLR volume page was expected")
    try:
        root = html.document_fromstring(content)
    except (etree.ParserError, ValueError) as exc:
        raise ParseError(url, f"not an HTML page: {exc}") from None
    divs = _elements(root, _with_class("paper", "div"))
    if not divs:
        raise ParseError(url, "not a PMLR volume page: it lists no div.paper")
    heading = root.find(".//h1")
    venue = venue_of(_text(heading) if heading is not None else None, volume)
    papers: list[Paper] = []
    entries: list[ParsedEntry] = []
    skipped = 0
    for div in divs[:MAX_PAPERS]:
        paper = _paper(div, url, volume, venue)
        if paper is None:
            skipped += 1
            continue
        papers.append(paper)
        entries.append(paper_entry(paper, key=f"id:pmlr:{paper.ids[0].value}"))
    page_title = root.findtext(".//title")
    return VolumePage(
        title=" ".join(page_title.split()) if page_title else None,
        venue=venue,
        papers=tuple(papers),
        entries=tuple(entries),
        skipped=skipped + max(0, len(divs) - MAX_PAPERS),
    )


def _paper(div: etree._Element, base: str, volume: str, venue: str) -> Paper | None:
    # Some volumes keep BibTeX's case-protecting braces in titles ("{SLAM}").
    title = _text(_first(div, "title", "p")).replace("{", "").replace("}", "")
    authors_text = _text(_first(div, "authors"))
    abs_url = pdf = forum = None
    for a in _elements(div, ".//a[@href]"):
        href = urljoin(base, str(a.get("href")).strip())
        if not href.startswith(("http://", "https://")):
            continue
        label = _text(a).lower()
        if label == "abs" and abs_url is None:
            abs_url = href
        elif "pdf" in label and pdf is None:
            pdf = href
        elif forum is None:
            forum = openreview_id(href)
    found = _PAPER_FILE.search(urlsplit(abs_url).path) if abs_url else None
    if not title or found is None:
        return None
    ids = [PaperId("pmlr", f"{volume}/{found.group('key').lower()}")]
    if forum:
        ids.append(PaperId("openreview", forum))
    return Paper(
        arxiv_id=None,
        title=title,
        authors=tuple(a.strip() for a in authors_text.split(",") if a.strip()),
        categories=(),
        abstract="",
        first_version_at=None,
        updated_at=None,
        venue=venue,
        ids=tuple(ids),
        url=abs_url,
        pdf=pdf,
    )


class PmlrConnector:
    """``pmlr:v235`` sources: a PMLR volume's papers."""

    kind = "pmlr"
    label = "PMLR"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def volume_url(self, volume: str) -> str:
        return f"{self._settings.pmlr_url.rstrip('/')}/{volume}/"

    def parse_spec(self, text: str) -> SourceSpec | None:
        volume = parse_volume(text)
        if volume is None:
            return None
        return SourceSpec(
            self.kind,
            f"pmlr:{volume}",
            title=f"PMLR {volume}",
            home_url=f"https://proceedings.mlr.press/{volume}/",
            config={"volume": volume},
        )

    async def resolve(self, spec: SourceSpec, ctx: ResolveContext) -> SourceSpec:
        return spec

    def policies(self, settings: Settings) -> Mapping[str, HostPolicy]:
        policy = HostPolicy(max_connections=1, min_interval=1.0, max_retries=2)
        host = urlsplit(settings.pmlr_url).hostname or ""
        return dict.fromkeys({"proceedings.mlr.press", host} - {""}, policy)

    async def fetch(self, source: SourceRef, ctx: FetchContext) -> FetchResult:
        volume = str(source.config.get("volume") or "") or parse_volume(source.url)
        if not volume:
            raise InvalidInputError(f"{source.url}: not a PMLR volume")
        state = source.state
        response = await ctx.fetcher.get(
            self.volume_url(volume),
            etag=state_text(state, "etag"),
            last_modified=state_text(state, "last_modified"),
            accept=HTML_ACCEPT,
        )
        new_state = {"etag": response.etag, "last_modified": response.last_modified}
        if response.not_modified:
            return FetchResult(
                None, state=new_state, status=response.status, max_age=REFRESH_SECONDS
            )
        page = await ctx.run_cpu(parse_volume_page, response.content, response.url, volume)
        warning = (
            f"{page.skipped} papers on the page had no title or abstract link and were skipped"
            if page.skipped
            else None
        )
        return FetchResult(
            page.entries,
            papers=page.papers,
            state=new_state,
            status=response.status,
            max_age=REFRESH_SECONDS,
            title=page.venue,
            warning=warning,
        )
