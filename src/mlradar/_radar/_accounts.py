"""Accounts through the facade: passwords, logins with their limits, API tokens.

The core's :class:`Accounts` is for everyone (sign-up, login, finding a token's user);
:class:`AccountsMixin` gives a user's view their own tokens.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from mlradar._accounts import (
    LoginLimits,
    check_password_rules,
    dummy_verify,
    hash_password,
    hash_token,
    login_decision,
    new_token,
    verify_password,
)
from mlradar._config import Settings
from mlradar._radar._base import RadarBase
from mlradar._update.schedule import utcnow
from mlradar.exceptions import AuthError, InvalidInputError, LoginRateLimitedError
from mlradar.types import ApiToken, NewApiToken, User

if TYPE_CHECKING:
    from mlradar._storage import Storage

_SECRET_STATE = "web.secret_key"  # noqa: S105 - the key under which it is kept


def _check_password(password: str) -> None:
    problem = check_password_rules(password)
    if problem is not None:
        raise InvalidInputError(problem)


class Accounts:
    """Sign-up, login and token lookup over one core's storage and settings."""

    def __init__(self, storage: Storage, settings: Settings) -> None:
        self._storage = storage
        self._settings = settings

    @property
    def limits(self) -> LoginLimits:
        s = self._settings
        return LoginLimits(
            per_account=s.login_max_failures_per_account,
            per_address=s.login_max_failures_per_address,
            window=timedelta(minutes=s.login_window_minutes),
        )

    def set_password(self, name: str, password: str) -> User:
        """Give the user ``name`` this password (replacing any)."""
        _check_password(password)
        user = self._storage.find_user(name)
        if user is None:
            self._storage.user_id(name)  # raises the error that says what to do
        assert user is not None
        self._storage.set_password_hash(user.id, hash_password(password))
        return user

    def has_password(self, user_id: int) -> bool:
        return self._storage.password_hash(user_id) is not None

    def sign_up(self, name: str, password: str) -> User:
        """Create a user with a password, when the settings allow sign-up."""
        from mlradar._radar._library import check_user_name

        if not self._settings.allow_signup:
            raise AuthError("sign-up is closed here (an administrator runs `mlradar user add`)")
        _check_password(password)
        return self._storage.add_user_with_password(check_user_name(name), hash_password(password))

    def authenticate(
        self, name: str, password: str, *, address: str, now: datetime | None = None
    ) -> User:
        """The user ``name`` if ``password`` is theirs; AuthError otherwise, and
        LoginRateLimitedError (without checking) after too many recent failures."""
        now = now or utcnow()
        limits = self.limits
        since = now - limits.window
        account = name[:200]
        address = address[:100]
        decision = login_decision(
            self._storage.login_failures(since, account=account),
            self._storage.login_failures(since, address=address),
            now,
            limits,
        )
        if not decision.allowed:
            raise LoginRateLimitedError(decision.reason, retry_after=decision.retry_after)
        user = self._storage.find_user(name)
        stored = None if user is None else self._storage.password_hash(user.id)
        if stored is None:
            dummy_verify(password)
            ok = False
        else:
            ok = verify_password(stored, password)
        self._storage.record_login_attempt(account, address, ok, now)
        if not ok or user is None:
            raise AuthError("wrong user name or password")
        return user

    def session_user(self, user_id: int | None, name: str) -> User | None:
        """The user a session names, if they still exist under that id (a user removed and
        made again under the same name is someone else)."""
        found = self._storage.find_user(name)
        return found if found is not None and found.id == user_id else None

    def user_for_token(self, token: str) -> User | None:
        """The user an API token belongs to, or None (unknown or revoked)."""
        if not token or len(token) > 200:
            return None
        return self._storage.user_for_token_hash(hash_token(token))

    def secret_key(self) -> str:
        """The key that signs session cookies: the setting, else one made once and kept."""
        if self._settings.web_secret_key:
            return self._settings.web_secret_key
        stored = self._storage.get_state(_SECRET_STATE)
        if stored is None:
            self._storage.set_state(_SECRET_STATE, secrets.token_urlsafe(48))
            stored = self._storage.get_state(_SECRET_STATE)
        assert stored is not None
        return stored


class AccountsMixin(RadarBase):
    """A user's API tokens."""

    def create_api_token(self, name: str) -> NewApiToken:
        """A new token named ``name``: the secret is in the result and nowhere else."""
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidInputError("a token needs a name of 1 to 200 characters")
        token = new_token()
        record = self._storage.add_api_token(self._user_id, name, hash_token(token))
        return NewApiToken(token, record)

    def api_tokens(self) -> list[ApiToken]:
        return self._storage.api_tokens(self._user_id)

    def revoke_api_token(self, token_id: int) -> None:
        """Revoke (delete) one of this user's tokens; NotFoundError when it is not theirs."""
        self._storage.revoke_api_token(self._user_id, token_id)
