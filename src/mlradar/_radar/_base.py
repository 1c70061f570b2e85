"""What every part of the Radar facade shares: settings, storage, the current user."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Self

from mlradar._config import Settings
from mlradar._storage import Storage
from mlradar.types import SearchHit


class RadarBase:
    """State shared by the facade's parts.  Each domain adds a mixin on top of this."""

    def __init__(self, storage: Storage, settings: Settings) -> None:
        self._storage = storage
        self._settings = settings

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def user(self) -> str:
        """The name of the user whose library, tags and progress calls act on."""
        return self._settings.user

    @cached_property
    def _user_id(self) -> int:
        return self._storage.user_id(self._settings.user)

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
        self._storage.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
