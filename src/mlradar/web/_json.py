"""JSON out, in the shapes the CLI's ``--json`` prints (records as their fields)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


def _default(value: Any) -> Any:
    # orjson writes dataclasses, datetimes and plain tuples itself; NamedTuples (PaperId)
    # and sets are what is left.
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=orjson.OPT_NON_STR_KEYS)


class JsonResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)
