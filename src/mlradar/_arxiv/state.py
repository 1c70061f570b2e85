"""Progress records kept as JSON in the ``state`` table (import checkpoints, harvests)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Self

import orjson

from mlradar._model import StoreCounts


class JsonState:
    """A mutable dataclass that round-trips through JSON and accumulates store counts."""

    new: int
    updated: int
    unchanged: int

    def to_json(self) -> str:
        return orjson.dumps(asdict(self)).decode()  # type: ignore[call-overload]

    @classmethod
    def from_json(cls, text: str | None) -> Self | None:
        """The saved record, or None when there is none or it cannot be read (an
        unreadable record only costs starting over, which is always correct)."""
        if not text:
            return None
        try:
            data: Any = orjson.loads(text)
            return cls(**data)
        except (orjson.JSONDecodeError, TypeError):
            return None

    def add(self, counts: StoreCounts) -> None:
        self.new += counts.new
        self.updated += counts.updated
        self.unchanged += counts.unchanged
