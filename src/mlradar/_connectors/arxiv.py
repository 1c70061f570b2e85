"""arXiv as a source: ``arxiv:cs.LG`` (categories' daily listings) or ``arxiv:<API query>``.

The parsing lives with the rest of arXiv in :mod:`mlradar._arxiv.listing`; this is the
connector around it, always behind arXiv's politeness (one connection, 3 s apart).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mlradar._arxiv.api import ArxivApi
from mlradar._arxiv.listing import (
    DEFAULT_QUERY_RESULTS,
    RSS_ACCEPT,
    entry_for,
    parse_arxiv_source,
    parse_listing,
)
from mlradar._config import Settings
from mlradar._connectors.base import (
    FetchContext,
    FetchResult,
    Json,
    ResolveContext,
    SourceRef,
    SourceSpec,
    state_text,
)
from mlradar._fetch import HostPolicy, arxiv_policies
from mlradar.exceptions import InvalidInputError


class ArxivConnector:
    kind = "arxiv"
    label = "arXiv"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def parse_spec(self, text: str) -> SourceSpec | None:
        if not text.strip().lower().startswith("arxiv:"):
            return None
        url, config = parse_arxiv_source(text)
        return SourceSpec(self.kind, url, config=config)

    async def resolve(self, spec: SourceSpec, ctx: ResolveContext) -> SourceSpec:
        return spec

    def policies(self, settings: Settings) -> Mapping[str, HostPolicy]:
        return arxiv_policies(settings)

    def listing_url(self, categories: Sequence[str]) -> str:
        return f"{self._settings.arxiv_rss_url.rstrip('/')}/{'+'.join(categories)}"

    async def fetch(self, source: SourceRef, ctx: FetchContext) -> FetchResult:
        """Read the source's listing feed (conditionally) or its API query."""
        config: Mapping[str, Json] = source.config
        if not config.get("mode"):
            # A source stored without config (added by hand): derive it from its URL.
            _, config = parse_arxiv_source(source.url)
        if config.get("mode") == "listing":
            return await self._fetch_listing(source, config, ctx)
        if config.get("mode") == "query":
            return await self._fetch_query(config, ctx)
        raise InvalidInputError(f"{source.url}: not an arXiv source")

    async def _fetch_listing(
        self, source: SourceRef, config: Mapping[str, Json], ctx: FetchContext
    ) -> FetchResult:
        categories = [str(c) for c in config.get("categories", [])]
        if not categories:
            raise InvalidInputError(f"{source.url}: no categories configured")
        state = source.state
        response = await ctx.fetcher.get(
            self.listing_url(categories),
            etag=state_text(state, "etag"),
            last_modified=state_text(state, "last_modified"),
            accept=RSS_ACCEPT,
        )
        new_state = {"etag": response.etag, "last_modified": response.last_modified}
        if response.not_modified:
            return FetchResult(
                None, state=new_state, status=response.status, max_age=response.max_age
            )
        feed, papers = await ctx.run_cpu(parse_listing, response.content, response.url)
        return FetchResult(
            feed.entries,
            papers=papers,
            state=new_state,
            status=response.status,
            retry_after=response.retry_after,
            max_age=response.max_age,
            title=feed.title,
            home_url=feed.home_url,
            warning=feed.warning,
        )

    async def _fetch_query(self, config: Mapping[str, Json], ctx: FetchContext) -> FetchResult:
        query = str(config.get("query") or "")
        if not query:
            raise InvalidInputError("an arXiv query source without a query")
        limit = int(config.get("max_results") or DEFAULT_QUERY_RESULTS)
        api = ArxivApi(ctx.fetcher, self._settings.arxiv_api_url)
        papers = await api.search(query, max_results=limit, sort_by="submittedDate")
        entries = tuple(
            entry_for(
                p,
                published_at=p.versions[0].created if p.versions else None,
                updated_at=p.versions[-1].created if p.versions else None,
            )
            for p in papers
        )
        return FetchResult(entries, papers=tuple(papers), title=f"arXiv query: {query}")
