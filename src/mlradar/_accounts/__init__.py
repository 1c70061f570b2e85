"""Accounts, decided: password hashing, API tokens, and when a login may be tried.

Pure functions over values; the facade stores what they decide.  Passwords are hashed
with argon2id (argon2-cffi's defaults, which follow RFC 9106's recommendations); API
tokens are random and stored as their SHA-256 (a token is a long random secret, so a
fast hash is enough and lets a request find its token by one indexed lookup).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from argon2 import PasswordHasher

#: Tokens start with this, so a leaked one is recognisable (secret scanners, logs).
TOKEN_PREFIX = "mlr_"  # noqa: S105 - a prefix, not a secret
MIN_PASSWORD = 8
MAX_PASSWORD = 1024


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher()


def check_password_rules(password: str) -> str | None:
    """Why ``password`` is not acceptable, or None."""
    if len(password) < MIN_PASSWORD:
        return f"a password needs at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"a password has at most {MAX_PASSWORD} characters"
    return None


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(_hasher().verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def dummy_verify(password: str) -> None:
    """Spend the time a verification takes, for an unknown account (so that timing does
    not tell which account names exist)."""
    verify_password(_dummy_hash(), password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def new_token() -> str:
    """A new API token: 32 random bytes, URL-safe, with the recognisable prefix."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """At most ``per_account`` failed attempts on one account name, and ``per_address``
    from one client address, within ``window``."""

    per_account: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class LoginDecision:
    allowed: bool
    retry_after: float = 0.0
    """Seconds until an attempt is allowed again (0 when allowed)."""
    reason: str = ""


def login_decision(
    account_failures: Sequence[datetime],
    address_failures: Sequence[datetime],
    now: datetime,
    limits: LoginLimits = LoginLimits(),
) -> LoginDecision:
    """May a login be tried now, given the recent failed attempts (times) on the account
    and from the address?  When not, say when: the oldest failure counted leaving the
    window frees one attempt."""
    start = now - limits.window
    for failures, limit, what in (
        (account_failures, limits.per_account, "this account"),
        (address_failures, limits.per_address, "this address"),
    ):
        recent = sorted(t for t in failures if t > start)
        if len(recent) >= limit:
            freed = recent[len(recent) - limit] + limits.window
            wait = max(1.0, (freed - now).total_seconds())
            return LoginDecision(
                False, wait, f"too many failed logins for {what}; try again in {wait:.0f} s"
            )
    return LoginDecision(True)
