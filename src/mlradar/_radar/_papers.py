"""The arXiv part of the facade: snapshot import, OAI-PMH harvests, papers, BibTeX."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlradar._identity.arxiv import parse_arxiv_id
from mlradar._papers import paper_keys, parse_paper_ref, store_papers
from mlradar._radar._base import RadarBase
from mlradar._radar._stories import mention_of
from mlradar._radar._sync import run_sync
from mlradar.exceptions import InvalidInputError, NotFoundError
from mlradar.types import (
    BibtexExport,
    HarvestSummary,
    ImportProgress,
    ImportSummary,
    Item,
    Mention,
    Paper,
    PaperDetail,
    PaperId,
)

if TYPE_CHECKING:
    # Imported where used: lxml, httpx and the parsers cost start-up time that commands
    # reading what is stored should not pay.
    from mlradar._arxiv.importer import ProblemCallback, ProgressCallback
    from mlradar._arxiv.oai import MetadataPrefix

#: Items listed on a paper's page.
PAPER_ITEMS = 100


class PapersMixin(RadarBase):
    # -- bulk ------------------------------------------------------------------------------

    def import_arxiv_snapshot(
        self,
        path: str | Path,
        *,
        categories: str | Iterable[str] | None = None,
        progress: ProgressCallback | None = None,
        on_problem: ProblemCallback | None = None,
        parallel: bool | None = None,
        bulk: bool | None = None,
        index: bool = True,
    ) -> ImportSummary:
        """Import arXiv's bulk metadata snapshot (JSON lines, plain or .gz).

        ``categories`` keeps papers with any matching category (``"cs.LG,stat.ML,cs.*"``).
        Idempotent (re-importing updates changed records, never duplicates) and resumable
        (an interrupted import, run again, continues after its last committed batch).
        Corrupt lines are skipped and reported through ``on_problem`` and the summary.
        With ``index`` (the default) the ranking index is brought up to date afterwards.
        ``bulk`` forces a bulk load on or off (None: a large file into a nearly empty
        database is one; see :mod:`mlradar._arxiv.importer`).
        """
        from mlradar._arxiv.importer import SnapshotImport
        from mlradar._arxiv.records import CategoryFilter

        last: list[ImportProgress] = []

        def relay(p: ImportProgress) -> None:
            last[:] = [p]
            if progress is not None:
                progress(p)

        summary = SnapshotImport(
            self._storage,
            Path(path),
            categories=CategoryFilter.parse(categories),
            progress=relay,
            on_problem=on_problem,
            parallel=parallel,
            bulk=bulk,
        ).run()
        if index:
            if progress is not None and last:
                # Seconds at 75k papers, minutes at millions: the bar says what it waits on.
                progress(replace(last[0], phase="ranking index"))
            self._core.sync_rank_index_after_write(bool(summary.new or summary.updated))
        return summary

    def harvest_arxiv(
        self,
        *,
        set_spec: str | None = "cs",
        from_date: date | None = None,
        until_date: date | None = None,
        metadata_prefix: MetadataPrefix = "arXiv",
        max_pages: int | None = None,
        progress: Callable[[Any], None] | None = None,
    ) -> HarvestSummary:
        """Harvest arXiv's OAI-PMH interface incrementally (see :mod:`mlradar._arxiv.oai`)."""
        return run_sync(
            self.harvest_arxiv_async(
                set_spec=set_spec,
                from_date=from_date,
                until_date=until_date,
                metadata_prefix=metadata_prefix,
                max_pages=max_pages,
                progress=progress,
            )
        )

    async def harvest_arxiv_async(
        self,
        *,
        set_spec: str | None = "cs",
        from_date: date | None = None,
        until_date: date | None = None,
        metadata_prefix: MetadataPrefix = "arXiv",
        max_pages: int | None = None,
        progress: Callable[[Any], None] | None = None,
    ) -> HarvestSummary:
        from mlradar._arxiv.oai import harvest
        from mlradar._fetch import arxiv_policies

        async with self._core.fetcher(arxiv_policies(self._settings)) as fetcher:
            summary = await harvest(
                self._storage,
                fetcher,
                self._settings.arxiv_oai_url,
                metadata_prefix=metadata_prefix,
                set_spec=set_spec,
                from_date=from_date,
                until_date=until_date,
                max_pages=max_pages,
                on_page=progress,
            )
        self._core.sync_rank_index_after_write(bool(summary.new or summary.updated))
        return summary

    def fetch_papers(self, refs: Sequence[str]) -> list[Paper]:
        """Read papers from arXiv's API (by id, any accepted form) and store them."""
        return run_sync(self.fetch_papers_async(refs))

    async def fetch_papers_async(self, refs: Sequence[str]) -> list[Paper]:
        ids = list(dict.fromkeys(parse_arxiv_id(r)[0] for r in refs))
        if not ids:
            return []
        from mlradar._arxiv.api import ArxivApi
        from mlradar._fetch import arxiv_policies

        async with self._core.fetcher(arxiv_policies(self._settings)) as fetcher:
            papers = await ArxivApi(fetcher, self._settings.arxiv_api_url).by_ids(ids)
        counts = store_papers(self._storage, papers)
        self._core.sync_rank_index_after_write(bool(counts.new or counts.updated))
        return self._storage.papers_by_ids(ids)

    # -- reading ---------------------------------------------------------------------------

    def _paper_key(self, ref: str) -> PaperId | int:
        return parse_paper_ref(ref)

    def paper(self, ref: str, *, fetch: bool = False) -> PaperDetail:
        """A paper and the items that mention it.  ``ref``: ``2503.11677``,
        ``arXiv:2503.11677v2``, an abs/pdf/html link, ``doi:...``, ``openreview:...``.
        With ``fetch``, an arXiv paper not stored yet (or a version of it not stored) is read
        from arXiv's API.  NotFoundError when nothing is known, and when ``ref`` names a
        version the paper's record does not have (``2503.11677v9`` of a paper with one)."""
        key = self._paper_key(ref)
        paper = self._storage.get_paper(key)
        arxiv_key = isinstance(key, PaperId) and key.scheme == "arxiv"
        if fetch and arxiv_key and (paper is None or self._missing_version(ref, paper)):
            fetched = self.fetch_papers([key.value])  # type: ignore[union-attr]
            paper = fetched[0] if fetched else paper
        if paper is not None and (missing := self._missing_version(ref, paper)):
            hint = "" if fetch else "; --fetch checks arXiv's current record"
            raise NotFoundError(
                f"arXiv:{paper.arxiv_id}v{missing[0]} is not a version of this paper "
                f"(known: {missing[1]}): `mlradar paper {paper.arxiv_id}` shows it{hint}"
            )
        if paper is not None:
            keys = paper_keys(paper)
        elif isinstance(key, PaperId):
            keys = (key,)
        else:
            raise NotFoundError(f"no paper with id {key}")
        # The mentions in sources this user follows: what others follow is theirs.
        items = self._storage.list_items(mentioning=keys, limit=PAPER_ITEMS, user_id=self._user_id)
        if paper is not None:
            arxiv_id = paper.arxiv_id
        else:
            arxiv_id = key.value if isinstance(key, PaperId) and key.scheme == "arxiv" else None
        mentions = self._mentions(items, arxiv_id)
        if paper is None and not mentions:
            hint = "" if fetch else " (import a snapshot, or fetch it from arXiv with --fetch)"
            raise NotFoundError(f"{_shown(key)} is not known{hint}")
        return PaperDetail(
            arxiv_id=arxiv_id,
            paper=paper,
            items=tuple(items),
            ref=paper.ref if paper else str(key),
            mentions=mentions,
        )

    @staticmethod
    def _missing_version(ref: str, paper: Paper) -> tuple[int, str] | None:
        """``(version, "v1, v2")`` when ``ref`` names a version the paper's stored versions
        do not include, else None.  A paper stored without its version list (a listing
        entry) cannot tell, and is taken as having it."""
        if not paper.versions or not _is_arxiv(ref):
            return None
        _, version = parse_arxiv_id(ref)
        known = sorted(v.version for v in paper.versions)
        if version is None or version in known:
            return None
        return version, ", ".join(f"v{v}" for v in known)

    def _mentions(self, items: Sequence[Item], arxiv_id: str | None) -> tuple[Mention, ...]:
        """The items naming the paper and the members of its story (a thread linking its
        PDF names it only through its story), oldest first."""
        found = {i.id: mention_of(i) for i in items}
        if arxiv_id is not None:
            for story in self._storage.list_stories(arxiv_id=arxiv_id, limit=10):
                for m in story.mentions:
                    found.setdefault(m.item_id, m)
        return tuple(sorted(found.values(), key=lambda m: (m.published is None, m.published)))

    def papers(self, refs: Sequence[str]) -> list[Paper]:
        """The stored papers among ``refs`` (any accepted id form), in order."""
        out: dict[str, Paper] = {}
        for ref in refs:
            found = self._storage.get_paper(self._paper_key(ref))
            if found is not None:
                out.setdefault(found.ref, found)
        return list(out.values())

    # -- BibTeX ----------------------------------------------------------------------------

    def bibtex_papers(
        self,
        *,
        ids: Sequence[str] = (),
        tag: str | None = None,
        query: str | None = None,
        limit: int = 1000,
        fetch: bool = False,
    ) -> list[Paper]:
        """The papers an export names: ids, a tag (papers tagged, and papers of items
        tagged), and/or a search.  NotFoundError names ids that are not known."""
        wanted, missing = self._bibtex_selection(ids, tag, query, limit, fetch)
        if missing:
            shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
            raise NotFoundError(
                f"{len(missing)} {_papers(len(missing))} not stored: {shown} (use --fetch to "
                "read them from arXiv)"
            )
        return wanted

    def _bibtex_selection(
        self, ids: Sequence[str], tag: str | None, query: str | None, limit: int, fetch: bool
    ) -> tuple[list[Paper], list[str]]:
        """The stored papers an export names, unique and in order, and the refs not stored."""
        if not ids and tag is None and query is None:
            raise InvalidInputError("name papers to export: ids, --tag or --search")
        wanted: list[Paper] = []
        missing: list[str] = []
        for ref in ids:
            found = self._storage.get_paper(self._paper_key(ref))
            if found is None:
                missing.append(ref)
            else:
                wanted.append(found)
        if tag is not None:
            tagged = self._papers_tagged(tag)
            if not tagged:
                raise NotFoundError(f"no papers are tagged {tag!r}")
            records = self._storage.paper_records(tagged)
            wanted += [records[i] for i in tagged if i in records]
            stubs = self._storage.papers_by_db_ids([i for i in tagged if i not in records])
            missing += [ref for ref, _title in stubs.values()]
        if query is not None:
            hits = self._storage.search(query, limit=limit, kinds=("paper",))
            wanted += self._storage.papers_by_ids([h.ref for h in hits])
        if missing and fetch:
            fetched = self.fetch_papers([m for m in missing if _is_arxiv(m)])
            got = {p.arxiv_id for p in fetched}
            wanted += fetched
            missing = [m for m in missing if parse_arxiv_id(m)[0] not in got or not _is_arxiv(m)]
        unique: dict[str, Paper] = {}
        for paper in wanted:
            unique.setdefault(paper.ref, paper)
        return list(unique.values()), list(dict.fromkeys(missing))

    def _papers_tagged(self, tag: str) -> list[int]:
        """Ids of the papers tagged ``tag``, and of the papers that items tagged ``tag``
        name, in order."""
        rows = self._storage.tagged(self._user_id, tag)
        items = [int(ref) for _, kind, ref in rows if kind == "item"]
        named = self._storage.arxiv_ids_of_items(items) if items else {}
        holders = self._storage.paper_db_ids([a for ids in named.values() for a in ids])
        out: list[int] = []
        for _, kind, ref in rows:
            if kind == "paper":
                out.append(int(ref))
            else:
                out += [holders[a] for a in named.get(int(ref), []) if a in holders]
        return list(dict.fromkeys(out))

    def export_bibtex(
        self,
        *,
        ids: Sequence[str] = (),
        tag: str | None = None,
        query: str | None = None,
        limit: int = 1000,
        fetch: bool = False,
    ) -> str:
        """BibTeX for the papers :meth:`bibtex_papers` selects."""
        from mlradar._arxiv.bibtex import to_bibtex

        return to_bibtex(
            self.bibtex_papers(ids=ids, tag=tag, query=query, limit=limit, fetch=fetch)
        )

    def export_bibtex_partial(
        self,
        *,
        ids: Sequence[str] = (),
        tag: str | None = None,
        query: str | None = None,
        limit: int = 1000,
        fetch: bool = False,
    ) -> BibtexExport:
        """Like :meth:`export_bibtex`, but the papers that are not stored do not stop the
        export: they are named in ``missing``.  NotFoundError only when nothing is left."""
        from mlradar._arxiv.bibtex import to_bibtex

        papers, missing = self._bibtex_selection(ids, tag, query, limit, fetch)
        if not papers:
            if missing:
                shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
                raise NotFoundError(
                    f"nothing to export: {len(missing)} {_papers(len(missing))} not stored: "
                    f"{shown} (use --fetch to read them from arXiv)"
                )
            raise NotFoundError("nothing to export: no stored paper matches")
        return BibtexExport(text=to_bibtex(papers), count=len(papers), missing=tuple(missing))


def _papers(n: int) -> str:
    return "paper is" if n == 1 else "papers are"


def _is_arxiv(ref: str) -> bool:
    key = parse_paper_ref(ref)
    return isinstance(key, PaperId) and key.scheme == "arxiv"


def _shown(key: PaperId | int) -> str:
    if isinstance(key, int):
        return f"paper:{key}"
    return f"arXiv:{key.value}" if key.scheme == "arxiv" else str(key)
