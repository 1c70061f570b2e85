"""What every part of a user's view shares: the core, and who the user is."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, Self

from mlradar.types import SearchHit

if TYPE_CHECKING:
    from collections import OrderedDict

    import numpy as np

    from mlradar._config import Settings
    from mlradar._radar._core import RadarCore
    from mlradar._rank.embed import Embedder
    from mlradar._rank.index import RankIndex
    from mlradar._rank.models import Profile
    from mlradar._storage import Storage


class RadarBase:
    """A view of one user over a :class:`~mlradar._radar._core.RadarCore`.

    Cheap to make and free of I/O: the user's id is looked up on first use.  Each domain
    adds a mixin on top.  Caches that outlive a view (the ranking index, trained
    profiles, query embeddings) live in the core, so a web request's view reuses them.
    """

    def __init__(self, core: RadarCore, user: str, *, user_id: int | None = None) -> None:
        self._core = core
        self._user = user
        if user_id is not None:
            self.__dict__["_user_id"] = user_id
        self._owns_core = False

    @property
    def core(self) -> RadarCore:
        """The process-wide core this view works through."""
        return self._core

    @property
    def _storage(self) -> Storage:
        return self._core._storage

    @property
    def _settings(self) -> Settings:
        return self._core.settings

    @property
    def settings(self) -> Settings:
        return self._core.settings

    @property
    def user(self) -> str:
        """The name of the user whose library, tags and progress calls act on."""
        return self._user

    @cached_property
    def _user_id(self) -> int:
        found = self._core.reads.find_user(self._user)
        if found is None:
            return self._storage.user_id(self._user)  # raises the error that says what to do
        return found.id

    # -- caches kept by the core (see the class docstring) ---------------------------------

    def _shared(self, name: str) -> Any:
        return self._core._shared.get(name)

    @property
    def _rank_indexes(self) -> dict[str, RankIndex] | None:
        value: dict[str, RankIndex] | None = self._shared("rank_indexes")
        return value

    @_rank_indexes.setter
    def _rank_indexes(self, value: dict[str, RankIndex] | None) -> None:
        self._core._shared["rank_indexes"] = value

    @property
    def _rank_embedder(self) -> tuple[Embedder | None] | None:
        """The one embedder readers and writers share (loaded once: it takes seconds)."""
        value: tuple[Embedder | None] | None = self._shared("rank_embedder")
        return value

    @_rank_embedder.setter
    def _rank_embedder(self, value: tuple[Embedder | None] | None) -> None:
        self._core._shared["rank_embedder"] = value

    @property
    def _profile_cache(self) -> dict[object, Profile] | None:
        value: dict[object, Profile] | None = self._shared("profiles")
        return value

    @_profile_cache.setter
    def _profile_cache(self, value: dict[object, Profile] | None) -> None:
        self._core._shared["profiles"] = value

    @property
    def _query_embedder(self) -> Embedder | None:
        value: Embedder | None = self._shared("query_embedder")
        return value

    @_query_embedder.setter
    def _query_embedder(self, value: Embedder | None) -> None:
        self._core._shared["query_embedder"] = value

    @property
    def _query_vectors(self) -> OrderedDict[tuple[str | None, str], np.ndarray] | None:
        value: OrderedDict[tuple[str | None, str], np.ndarray] | None = self._shared(
            "query_vectors"
        )
        return value

    @_query_vectors.setter
    def _query_vectors(self, value: OrderedDict[tuple[str | None, str], np.ndarray] | None) -> None:
        self._core._shared["query_vectors"] = value

    # -- hooks the semantic part overrides ---------------------------------------------------

    def semantic_search(self, query: str, *, limit: int = 20) -> list[SearchHit]:
        """No semantic hits; the library part overrides this with embeddings."""
        return []

    def hybrid_search(
        self,
        lexical: Sequence[SearchHit],
        query: str,
        *,
        limit: int = 20,
        semantic: Sequence[SearchHit] | None = None,
    ) -> list[SearchHit]:
        """Lexical hits as they are; the library part overrides this to fuse in embeddings."""
        return list(lexical)[:limit]

    def close(self) -> None:
        """Close the core when this view opened it (:func:`~mlradar.make_radar`)."""
        if self._owns_core:
            self._core.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
