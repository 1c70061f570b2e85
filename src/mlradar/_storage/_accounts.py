"""Accounts: password hashes, hashed API tokens, login attempts (SQL only; the
decisions are in :mod:`mlradar._accounts`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update

from mlradar._storage import schema as s
from mlradar._storage._base import StorageBase, utcnow
from mlradar.exceptions import NotFoundError
from mlradar.types import ApiToken, User


def _token(row: object) -> ApiToken:
    return ApiToken(
        id=int(row.id),  # type: ignore[attr-defined]
        name=str(row.name),  # type: ignore[attr-defined]
        created_at=row.created_at,  # type: ignore[attr-defined]
        last_used_at=row.last_used_at,  # type: ignore[attr-defined]
    )


class AccountsStorage(StorageBase):
    # -- passwords -------------------------------------------------------------------------

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        t = s.user_passwords
        with self.begin() as conn:
            conn.execute(delete(t).where(t.c.user_id == user_id))
            conn.execute(
                insert(t).values(user_id=user_id, password_hash=password_hash, updated_at=utcnow())
            )

    def password_hash(self, user_id: int) -> str | None:
        t = s.user_passwords
        with self.read() as conn:
            row = conn.execute(select(t.c.password_hash).where(t.c.user_id == user_id)).first()
        return None if row is None else str(row.password_hash)

    def add_user_with_password(self, name: str, password_hash: str) -> User:
        """Create a user and their password together (sign-up): both or neither."""
        from sqlalchemy.exc import IntegrityError

        from mlradar.exceptions import UserExistsError

        now = utcnow()
        try:
            with self.begin() as conn:
                result = conn.execute(insert(s.users).values(name=name, created_at=now))
                user_id = int(result.inserted_primary_key[0])  # type: ignore[index]
                conn.execute(
                    insert(s.user_passwords).values(
                        user_id=user_id, password_hash=password_hash, updated_at=now
                    )
                )
        except IntegrityError:
            raise UserExistsError(f"a user named {name!r} exists already") from None
        return User(user_id, name, now)

    # -- API tokens ----------------------------------------------------------------------------

    def add_api_token(self, user_id: int, name: str, token_hash: str) -> ApiToken:
        t = s.api_tokens
        now = utcnow()
        with self.begin() as conn:
            result = conn.execute(
                insert(t).values(user_id=user_id, name=name, token_hash=token_hash, created_at=now)
            )
            token_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        return ApiToken(token_id, name, now, None)

    def api_tokens(self, user_id: int) -> list[ApiToken]:
        t = s.api_tokens
        with self.read() as conn:
            rows = conn.execute(select(t).where(t.c.user_id == user_id).order_by(t.c.id)).all()
        return [_token(r) for r in rows]

    def revoke_api_token(self, user_id: int, token_id: int) -> None:
        t = s.api_tokens
        with self.begin() as conn:
            done = conn.execute(delete(t).where(t.c.id == token_id, t.c.user_id == user_id))
        if done.rowcount == 0:
            raise NotFoundError(f"no API token {token_id}")

    def user_for_token_hash(self, token_hash: str, *, touch: bool = True) -> User | None:
        """The user owning the token with this hash; marks it used (at most once a
        minute, so that a busy script does not write on every request)."""
        t, u = s.api_tokens, s.users
        with self.read() as conn:
            row = conn.execute(
                select(t.c.id, t.c.last_used_at, u.c.id.label("uid"), u.c.name, u.c.created_at)
                .join(u, u.c.id == t.c.user_id)
                .where(t.c.token_hash == token_hash)
            ).first()
        if row is None:
            return None
        now = utcnow()
        if touch and (row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60):
            with self.begin() as conn:
                conn.execute(update(t).where(t.c.id == row.id).values(last_used_at=now))
        return User(int(row.uid), str(row.name), row.created_at)

    # -- login attempts --------------------------------------------------------------------------

    def record_login_attempt(self, account: str, address: str, ok: bool, at: datetime) -> None:
        t = s.login_attempts
        with self.begin() as conn:
            conn.execute(insert(t).values(account=account, address=address, at=at, ok=ok))
            if ok:
                # A success clears the account's failures: the limit is on guessing.
                conn.execute(delete(t).where(t.c.account == account, t.c.ok.is_(False)))

    def login_failures(
        self, since: datetime, *, account: str | None = None, address: str | None = None
    ) -> list[datetime]:
        """Times of failed attempts since ``since`` on an account or from an address."""
        t = s.login_attempts
        query = select(t.c.at).where(t.c.at > since, t.c.ok.is_(False))
        if account is not None:
            query = query.where(t.c.account == account)
        if address is not None:
            query = query.where(t.c.address == address)
        with self.read() as conn:
            return [r.at for r in conn.execute(query.order_by(t.c.at))]

    def prune_login_attempts(self, before: datetime) -> None:
        t = s.login_attempts
        with self.begin() as conn:
            conn.execute(delete(t).where(t.c.at < before))
