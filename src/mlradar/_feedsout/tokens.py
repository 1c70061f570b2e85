"""Feed tokens and view names: pure helpers."""

from __future__ import annotations

import hashlib
import secrets
from typing import cast, get_args

from mlradar.exceptions import InvalidInputError
from mlradar.types import FeedView, FeedViewKind

#: A token says what it is, so one pasted in the wrong place is recognised.
TOKEN_PREFIX = "mlrf_"  # noqa: S105 (a label, not a secret)
#: Views that need an argument, and those that take none.
NEEDS_ARG = frozenset({"tag", "search", "source"})
NO_ARG = frozenset({"new", "for-you", "discussed"})
VIEW_KINDS: tuple[str, ...] = get_args(FeedViewKind)


def new_token_secret() -> str:
    """An unguessable token (256 bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(secret: str) -> str:
    """What is stored of a token: its SHA-256.  A token is random, so no salt or slow
    hash is needed: nothing can be guessed from the hash."""
    return hashlib.sha256(secret.strip().encode("utf-8", "surrogatepass")).hexdigest()


def parse_view(kind: str, arg: str | None = None) -> FeedView:
    """A checked view: ``parse_view("tag", "diffusion")``; InvalidInputError otherwise."""
    kind = kind.strip().lower()
    if kind not in VIEW_KINDS:
        raise InvalidInputError(f"unknown feed view {kind!r}: use one of {', '.join(VIEW_KINDS)}")
    arg = arg.strip() if arg is not None else None
    if kind in NEEDS_ARG and not arg:
        raise InvalidInputError(f"the {kind} feed needs an argument (which {kind})")
    if kind in NO_ARG and arg:
        raise InvalidInputError(f"the {kind} feed takes no argument")
    if kind == "digest" and arg is not None and not arg.isdigit():
        raise InvalidInputError("the digest feed takes a digest id (a number), or nothing")
    if arg is not None and len(arg) > 500:
        raise InvalidInputError("the feed's argument is too long")
    return FeedView(cast(FeedViewKind, kind), arg or None)


__all__ = ["TOKEN_PREFIX", "VIEW_KINDS", "hash_token", "new_token_secret", "parse_view"]
