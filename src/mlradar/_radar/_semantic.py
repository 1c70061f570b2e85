"""The semantic half of search: papers nearest to the query's embedding, fused with the
full-text hits by reciprocal rank.

numpy and the ranking modules are imported inside the methods (see :mod:`._index`)."""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlradar._radar._index import _PAPERS
from mlradar._radar._library import LibraryMixin, _check_limit
from mlradar.exceptions import InvalidInputError
from mlradar.types import SearchHit

if TYPE_CHECKING:
    from mlradar._rank.embed import Embedder
    from mlradar._rank.index import RankIndex

#: Query embeddings kept in memory (per Radar object) for repeated searches.
QUERY_CACHE = 256
_QUERY_LOCK = threading.Lock()
_ENCODE_LOCK = threading.Lock()


def _encode_query(embedder: Embedder, text: str) -> Any:
    """One query's embedding, computed on one thread.

    A query is a few tokens: torch's intra-op threads gain nothing on such small
    matrices, and on a busy machine they spin waiting for a core (measured on 2 cores at
    load 5: p50 750 ms with 2 threads, 13 ms with one).
    """
    torch = sys.modules.get("torch")
    if torch is None:
        vector: Any = embedder.encode([text])[0]
        return vector
    with _ENCODE_LOCK:  # the thread count is process-wide: restore it as found
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            vector = embedder.encode([text])[0]
        finally:
            torch.set_num_threads(threads)
    return vector


class SemanticSearchMixin(LibraryMixin):
    # -- search: the semantic half -----------------------------------------------------------

    def _query_vector(self, ix: RankIndex, query: str) -> Any | None:
        """The query's embedding, from a small LRU cache: a query is often run again
        (the next page, a changed filter, the same search from a saved link), and
        embedding it is the costliest step of the semantic half."""
        cache = self._query_vectors
        if cache is None:
            cache = self._query_vectors = OrderedDict()
        key = (ix.store.meta.model, " ".join(query.split()))
        with _QUERY_LOCK:
            cached = cache.get(key)
            if cached is not None:
                cache.move_to_end(key)
                return cached
        embedder = ix.embedder
        if embedder is None:
            return None
        vector = _encode_query(embedder, key[1])
        with _QUERY_LOCK:
            cache[key] = vector
            while len(cache) > QUERY_CACHE:
                cache.popitem(last=False)
        return vector

    def semantic_search(self, query: str, *, limit: int = 20) -> list[SearchHit]:
        """Papers nearest to the query's embedding; empty when embeddings are not available."""
        _check_limit(limit)
        if not query.strip():
            raise InvalidInputError("empty search query")
        ix = self._indexes()[_PAPERS]
        if not ix.has_dense:
            return []
        vector = self._query_vector(ix, query)
        if vector is None:
            return []
        hits = ix.semantic_neighbours(vector, limit)
        papers = self._storage.papers_by_db_ids([i for i, _ in hits])
        full = {p.arxiv_id: p for p in self._storage.papers_by_ids([a for a, _ in papers.values()])}
        out = []
        for db_id, sim in hits:
            if db_id not in papers:
                continue
            arxiv_id, title = papers[db_id]
            paper = full.get(arxiv_id)
            day = paper.first_version_at if paper else None
            out.append(
                SearchHit(
                    kind="paper",
                    ref=arxiv_id,
                    title=title,
                    url=f"https://arxiv.org/abs/{arxiv_id}",
                    snippet=(paper.abstract[:200] if paper else ""),
                    score=sim,
                    source_name="arXiv",
                    date=None
                    if day is None
                    else datetime(day.year, day.month, day.day, tzinfo=UTC),
                )
            )
        return out

    def hybrid_search(
        self,
        lexical: Sequence[SearchHit],
        query: str,
        *,
        limit: int = 20,
        semantic: Sequence[SearchHit] | None = None,
    ) -> list[SearchHit]:
        """Fuse full-text hits with semantic hits by reciprocal rank (lexical alone without
        embeddings).

        ``lexical`` is the full-text result (``Radar.search``) for the same query; hits
        keep their records, and ``score`` becomes the fused score.  ``semantic`` is
        :meth:`semantic_search`'s result when the caller already has it.
        """
        if semantic is None:
            semantic = self.semantic_search(query, limit=max(limit, 20))
        if not semantic:
            return list(lexical)[:limit]
        from mlradar._rank.index import fuse_rrf

        by_key: dict[str, SearchHit] = {}
        for hit in [*lexical, *semantic]:
            by_key.setdefault(f"{hit.kind}:{hit.ref}", hit)
        fused = fuse_rrf(
            [[f"{h.kind}:{h.ref}" for h in lexical], [f"{h.kind}:{h.ref}" for h in semantic]]
        )
        out = []
        for key, score in fused[:limit]:
            hit = by_key[key]
            out.append(
                SearchHit(
                    kind=hit.kind,
                    ref=hit.ref,
                    title=hit.title,
                    url=hit.url,
                    snippet=hit.snippet,
                    score=score,
                    source_name=hit.source_name,
                    date=hit.date,
                )
            )
        return out
