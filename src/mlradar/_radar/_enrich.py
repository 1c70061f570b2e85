"""The enrichment part of the facade: ``enrich`` asks Semantic Scholar about papers and
caches the answers with their date; ``enrichment`` reads them back."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from mlradar._radar._base import RadarBase
from mlradar._radar._sync import run_sync
from mlradar._update.schedule import utcnow
from mlradar.exceptions import InvalidInputError, RadarError
from mlradar.types import Enrichment, EnrichSummary, Paper

#: Called after each paper: (papers done, papers in all, the paper's ref).
EnrichProgress = Callable[[int, int, str], None]


class EnrichMixin(RadarBase):
    def _enrich_targets(
        self, refs: Sequence[str], tag: str | None, since: datetime | None
    ) -> list[tuple[str, str]]:
        """``(ref shown, Semantic Scholar's name for it)`` of every paper asked about."""
        from mlradar._enrich import s2_ref

        papers: list[Paper | None] = []
        shown: list[str] = []
        for ref in refs:
            found = self._storage.get_paper(self._paper_key(ref))  # type: ignore[attr-defined]
            papers.append(found)
            shown.append(found.ref if found else ref)
        ids: list[int] = []
        if tag is not None:
            ids += self._papers_tagged(tag)  # type: ignore[attr-defined]
        if since is not None:
            ids += self._storage.paper_ids_since(since.date())
        records = self._storage.paper_records(list(dict.fromkeys(ids)))
        for record in records.values():
            papers.append(record)
            shown.append(record.ref)
        out: dict[str, str] = {}
        for paper, ref in zip(papers, shown, strict=True):
            name = s2_ref(paper, ref)
            if name is None:
                raise InvalidInputError(f"{ref} has no identifier Semantic Scholar knows")
            out.setdefault(name, ref)
        return [(ref, name) for name, ref in out.items()]

    def enrich(
        self,
        refs: Sequence[str] = (),
        *,
        tag: str | None = None,
        since: datetime | None = None,
        progress: EnrichProgress | None = None,
        refresh: bool = False,
    ) -> EnrichSummary:
        """Ask Semantic Scholar about papers (ids, papers tagged ``tag``, papers listed
        since ``since``): citation counts, venue, references, citations and recommended
        papers.  Answers are cached with their date; a fresh one (younger than
        ``s2_max_age_days``) is not asked again unless ``refresh``, so an interrupted run
        resumes where it stopped.  A paper that fails is reported and the run goes on."""
        return run_sync(
            self.enrich_async(refs, tag=tag, since=since, progress=progress, refresh=refresh)
        )

    async def enrich_async(
        self,
        refs: Sequence[str] = (),
        *,
        tag: str | None = None,
        since: datetime | None = None,
        progress: EnrichProgress | None = None,
        refresh: bool = False,
    ) -> EnrichSummary:
        from mlradar._enrich import KINDS, S2Client, s2_policies
        from mlradar._update.pipeline import one_line

        if not refs and tag is None and since is None:
            raise InvalidInputError("name papers to enrich: ids, --tag or --since")
        targets = self._enrich_targets(refs, tag, since)
        st = self._settings
        max_age = timedelta(days=st.s2_max_age_days)
        fetched = cached = 0
        failed: list[str] = []
        async with self._core.fetcher(s2_policies(st)) as fetcher:
            client = S2Client(fetcher, st.s2_api_url, st.s2_api_key)
            for done, (ref, name) in enumerate(targets, 1):
                have = self._storage.enrich_cached(name)
                for kind in KINDS:
                    old = have.get(kind)
                    if old is not None and not refresh and utcnow() - old[2] < max_age:
                        cached += 1
                        if old[0] == 404:
                            break  # still unknown to Semantic Scholar
                        continue
                    try:
                        status, body = await client.get(kind, name)
                    except RadarError as exc:
                        failed.append(f"{ref}: {one_line(exc)}")
                        break
                    self._storage.put_enrich(kind, name, status, body, utcnow())
                    fetched += 1
                    if status == 404:
                        break  # unknown to Semantic Scholar: its lists would be too
                if progress is not None:
                    progress(done, len(targets), ref)
        return EnrichSummary(
            papers=len(targets),
            fetched=fetched,
            cached=cached,
            failed=tuple(failed),
            enriched=tuple(self._enrichment(name, ref) for ref, name in targets),
        )

    def _enrichment(self, name: str, ref: str) -> Enrichment:
        from dataclasses import replace

        from mlradar._enrich import enrichment_from

        return replace(enrichment_from(name, self._storage.enrich_cached(name)), ref=ref)

    def enrichment(self, ref: str) -> Enrichment:
        """What the cache holds from Semantic Scholar about one paper (nothing is fetched:
        see :meth:`enrich`)."""
        [(shown, name)] = self._enrich_targets([ref], None, None)
        return self._enrichment(name, shown)
