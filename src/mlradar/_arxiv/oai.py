"""OAI-PMH harvesting of arXiv (``ListRecords``, metadata formats ``arXiv`` and ``arXivRaw``).

The protocol (OAI-PMH 2.0): a ``ListRecords`` request names a ``metadataPrefix`` and
optionally a ``set``, ``from`` and ``until`` (days, inclusive); a long list comes in pages,
each ending with a ``resumptionToken`` that the next request sends *instead of* the other
arguments; the last page has an empty token.  ``noRecordsMatch`` is an error code that
means "nothing to harvest", not a failure.

What is stored where, so that an interrupted harvest resumes and the next one continues:

* after each page, in the same transaction as its papers, the harvest's state (the token
  for the next page, the window, running totals);
* when the list is complete, only the newest datestamp seen: the next run's ``from``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal, Protocol
from urllib.parse import urlencode

from lxml import etree

from mlradar._arxiv.records import (
    clean_categories,
    clean_optional,
    clean_text,
    decode_name,
    identify,
    parse_day,
    parse_iso_datetime,
    parse_rfc2822,
    split_authors,
    version_number,
)
from mlradar._arxiv.state import JsonState
from mlradar._content.xml import local_name, parse_xml, text_of
from mlradar._fetch import Fetcher
from mlradar._model import StoreCounts
from mlradar._papers import PaperStore, store_papers
from mlradar.exceptions import FetchError, InvalidInputError, ParseError
from mlradar.types import HarvestSummary, Paper, PaperVersion

OAI = "{http://www.openarchives.org/OAI/2.0/}"
ARXIV_FORMAT = "{http://arxiv.org/OAI/arXiv/}"
ARXIV_RAW = "{http://arxiv.org/OAI/arXivRaw/}"

MetadataPrefix = Literal["arXiv", "arXivRaw"]
METADATA_PREFIXES: tuple[MetadataPrefix, ...] = ("arXiv", "arXivRaw")
OAI_ACCEPT = "text/xml, application/xml;q=0.9, */*;q=0.5"
#: Problems remembered for the summary (all are counted).
MAX_PROBLEMS = 100


class OaiError(ParseError):
    """The repository answered with an OAI-PMH error (``badArgument``, ...)."""

    def __init__(self, url: str, code: str, message: str) -> None:
        super().__init__(url, f"OAI-PMH error {code}: {message}" if message else code)
        self.code = code


@dataclass(frozen=True, slots=True)
class OaiRecord:
    """One record of a page: a paper, a deletion notice, or a record that could not be read."""

    identifier: str
    datestamp: date | None
    paper: Paper | None = None
    deleted: bool = False
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class OaiPage:
    records: tuple[OaiRecord, ...]
    token: str | None
    """The token for the next page; None when this page is the last."""
    complete_list_size: int | None = None
    cursor: int | None = None


def list_records_url(
    base: str,
    *,
    metadata_prefix: MetadataPrefix = "arXiv",
    set_spec: str | None = None,
    from_date: date | None = None,
    until_date: date | None = None,
    token: str | None = None,
) -> str:
    """A ListRecords request.  With a token, the token is the only other argument."""
    if token is not None:
        params = {"verb": "ListRecords", "resumptionToken": token}
    else:
        params = {"verb": "ListRecords", "metadataPrefix": metadata_prefix}
        if set_spec:
            params["set"] = set_spec
        if from_date:
            params["from"] = from_date.isoformat()
        if until_date:
            params["until"] = until_date.isoformat()
    return f"{base}?{urlencode(params)}"


def _child(parent: etree._Element, ns: str, name: str) -> str | None:
    return text_of(parent.find(f"{ns}{name}"))


def paper_from_arxiv_format(meta: etree._Element) -> Paper:
    """An ``arXiv``-format metadata element (authors split, creation/update days)."""
    ns = ARXIV_FORMAT
    arxiv_id, _, title = identify(_child(meta, ns, "id"), _child(meta, ns, "title"))
    authors = []
    for a in meta.iterfind(f"{ns}authors/{ns}author"):
        parts = [
            _child(a, ns, "forenames") or "",
            _child(a, ns, "keyname") or "",
            _child(a, ns, "suffix") or "",
        ]
        name = decode_name(" ".join(p for p in parts if p))
        if name:
            authors.append(name)
    created = parse_day(_child(meta, ns, "created"))
    updated = parse_day(_child(meta, ns, "updated"))
    return Paper(
        arxiv_id=arxiv_id,
        title=title,
        authors=tuple(authors),
        categories=clean_categories((_child(meta, ns, "categories") or "").split()),
        abstract=clean_text(_child(meta, ns, "abstract")),
        first_version_at=created,
        updated_at=updated or created,
        # This format dates the first version only; arXivRaw has them all.
        versions=(PaperVersion(1, None),),
        comments=clean_optional(_child(meta, ns, "comments")),
        journal_ref=clean_optional(_child(meta, ns, "journal-ref")),
        doi=clean_optional(_child(meta, ns, "doi")),
        license=clean_optional(_child(meta, ns, "license")),
        report_no=clean_optional(_child(meta, ns, "report-no")),
    )


def paper_from_arxiv_raw(meta: etree._Element) -> Paper:
    """An ``arXivRaw`` metadata element (every version with its date; authors as a string)."""
    ns = ARXIV_RAW
    arxiv_id, _, title = identify(_child(meta, ns, "id"), _child(meta, ns, "title"))
    versions = []
    for v in meta.iterfind(f"{ns}version"):
        number = version_number(v.get("version"))
        if number is not None:
            when = _child(v, ns, "date")
            versions.append(PaperVersion(number, parse_rfc2822(when) if when else None))
    versions.sort(key=lambda v: v.version)
    first = versions[0].created if versions else None
    last = versions[-1].created if versions else None
    return Paper(
        arxiv_id=arxiv_id,
        title=title,
        authors=split_authors(_child(meta, ns, "authors") or ""),
        categories=clean_categories((_child(meta, ns, "categories") or "").split()),
        abstract=clean_text(_child(meta, ns, "abstract")),
        first_version_at=first.date() if first else None,
        updated_at=last.date() if last else None,
        versions=tuple(versions),
        comments=clean_optional(_child(meta, ns, "comments")),
        journal_ref=clean_optional(_child(meta, ns, "journal-ref")),
        doi=clean_optional(_child(meta, ns, "doi")),
        license=clean_optional(_child(meta, ns, "license")),
        submitter=clean_optional(_child(meta, ns, "submitter")),
        report_no=clean_optional(_child(meta, ns, "report-no")),
    )


def _record(record: etree._Element) -> OaiRecord:
    header = record.find(f"{OAI}header")
    if header is None:
        return OaiRecord("", None, problem="record without a header")
    identifier = _child(header, OAI, "identifier") or ""
    datestamp = parse_day(_child(header, OAI, "datestamp"))
    if header.get("status") == "deleted":
        return OaiRecord(identifier, datestamp, deleted=True)
    metadata = record.find(f"{OAI}metadata")
    payload = (
        next((c for c in metadata if isinstance(c.tag, str)), None)
        if metadata is not None
        else None
    )
    if payload is None:
        return OaiRecord(identifier, datestamp, problem=f"{identifier}: no metadata")
    try:
        if payload.tag == f"{ARXIV_RAW}arXivRaw":
            paper = paper_from_arxiv_raw(payload)
        elif payload.tag == f"{ARXIV_FORMAT}arXiv":
            paper = paper_from_arxiv_format(payload)
        else:
            return OaiRecord(
                identifier,
                datestamp,
                problem=f"{identifier}: unknown metadata {local_name(payload)}",
            )
    except InvalidInputError as exc:
        return OaiRecord(identifier, datestamp, problem=f"{identifier}: {exc}")
    return OaiRecord(identifier, datestamp, paper=paper)


def _int_attr(element: etree._Element, name: str) -> int | None:
    value = element.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def parse_list_records(content: bytes, url: str) -> OaiPage:
    """Parse one ListRecords response.  ``noRecordsMatch`` is an empty last page; any
    other OAI-PMH error raises :class:`OaiError`."""
    root = parse_xml(content, url)
    if root.tag != f"{OAI}OAI-PMH":
        raise ParseError(url, "not an OAI-PMH response")
    for error in root.iterfind(f"{OAI}error"):
        code = error.get("code") or "unknown"
        if code == "noRecordsMatch":
            return OaiPage((), None)
        raise OaiError(url, code, clean_text(text_of(error)))
    body = root.find(f"{OAI}ListRecords")
    if body is None:
        raise ParseError(url, "an OAI-PMH response without ListRecords")
    records = tuple(_record(r) for r in body.iterfind(f"{OAI}record"))
    token_el = body.find(f"{OAI}resumptionToken")
    token = text_of(token_el)
    return OaiPage(
        records=records,
        token=token,
        complete_list_size=_int_attr(token_el, "completeListSize")
        if token_el is not None
        else None,
        cursor=_int_attr(token_el, "cursor") if token_el is not None else None,
    )


# -- the harvest loop ------------------------------------------------------------------------


class HarvestStore(PaperStore, Protocol):
    def get_state(self, key: str) -> str | None: ...

    def set_state(self, key: str, value: str | None) -> None: ...


@dataclass(slots=True)
class HarvestState(JsonState):
    """A harvest in progress (``token`` set) or the memory of the last complete one."""

    last_datestamp: str | None = None
    token: str | None = None
    from_date: str | None = None
    until_date: str | None = None
    newest_seen: str | None = None
    pages: int = 0
    records: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)


def state_key(metadata_prefix: str, set_spec: str | None) -> str:
    return f"arxiv.oai:{metadata_prefix}:{set_spec or '*'}"


def _newest(a: str | None, b: date | None) -> str | None:
    if b is None:
        return a
    return max(a, b.isoformat()) if a else b.isoformat()


PageCallback = Callable[[HarvestState], None]


async def harvest(
    store: HarvestStore,
    fetcher: Fetcher,
    base_url: str,
    *,
    metadata_prefix: MetadataPrefix = "arXiv",
    set_spec: str | None = "cs",
    from_date: date | None = None,
    until_date: date | None = None,
    max_pages: int | None = None,
    on_page: PageCallback | None = None,
) -> HarvestSummary:
    """Harvest ``ListRecords`` into ``store``, resuming an interrupted harvest.

    Without ``from_date`` the harvest starts from the newest datestamp of the last
    complete one (everything, the first time).  An interrupted harvest of the same set and
    format continues from its saved token when the window asked for is the same (or not
    given).  ``max_pages`` stops early, keeping the token, as an interruption would.
    """
    if metadata_prefix not in METADATA_PREFIXES:
        raise InvalidInputError(
            f"unknown metadata format {metadata_prefix!r}: use {' or '.join(METADATA_PREFIXES)}"
        )
    if from_date and until_date and from_date > until_date:
        raise InvalidInputError("--from is after --until")
    key = state_key(metadata_prefix, set_spec)
    saved = HarvestState.from_json(store.get_state(key)) or HarvestState()
    want_from = from_date.isoformat() if from_date else None
    want_until = until_date.isoformat() if until_date else None
    resumed = saved.token is not None and (
        (want_from is None or want_from == saved.from_date)
        and (want_until is None or want_until == saved.until_date)
    )
    if resumed:
        st = saved
    else:
        st = HarvestState(
            last_datestamp=saved.last_datestamp,
            from_date=want_from or saved.last_datestamp,
            until_date=want_until,
        )
    token = st.token
    pages_this_run = 0
    while True:
        url = list_records_url(
            base_url,
            metadata_prefix=metadata_prefix,
            set_spec=set_spec,
            from_date=parse_day(st.from_date),
            until_date=parse_day(st.until_date),
            token=token,
        )
        response = await fetcher.get(url, accept=OAI_ACCEPT)
        try:
            page = parse_list_records(response.content, response.url)
        except OaiError as exc:
            if exc.code == "badResumptionToken":
                # The repository forgot the token (they expire): start the window over.
                store.set_state(key, HarvestState(last_datestamp=st.last_datestamp).to_json())
                raise FetchError(
                    url,
                    "the saved resumption token has expired; run the harvest again to "
                    "start this window over",
                ) from None
            raise
        papers = [r.paper for r in page.records if r.paper is not None]
        st.pages += 1
        st.records += len(page.records)
        st.deleted += sum(1 for r in page.records if r.deleted)
        for r in page.records:
            if r.problem is not None:
                st.skipped += 1
                if len(st.problems) < MAX_PROBLEMS:
                    st.problems.append(r.problem)
            st.newest_seen = _newest(st.newest_seen, r.datestamp)
        st.token = token = page.token
        if token is None:
            # Complete: remember only where the next harvest starts.
            st.last_datestamp = max(
                (d for d in (st.last_datestamp, st.newest_seen) if d), default=None
            )

        def checkpoint(counts: StoreCounts, st: HarvestState = st) -> dict[str, str | None]:
            st.add(counts)
            done = st.token is None
            kept = HarvestState(last_datestamp=st.last_datestamp) if done else st
            return {key: kept.to_json()}

        store_papers(store, papers, state=checkpoint)
        pages_this_run += 1
        if on_page is not None:
            on_page(st)
        if token is None or (max_pages is not None and pages_this_run >= max_pages):
            break
    return HarvestSummary(
        metadata_prefix=metadata_prefix,
        set_spec=set_spec,
        from_date=parse_day(st.from_date),
        until_date=parse_day(st.until_date),
        pages=st.pages,
        records=st.records,
        new=st.new,
        updated=st.updated,
        unchanged=st.unchanged,
        deleted=st.deleted,
        skipped=st.skipped,
        problems=tuple(st.problems),
        resumed=resumed,
        last_datestamp=parse_day(st.last_datestamp),
    )


__all__ = [
    "OaiError",
    "OaiPage",
    "OaiRecord",
    "harvest",
    "list_records_url",
    "parse_iso_datetime",
    "parse_list_records",
]
