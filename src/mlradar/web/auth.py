"""Who is asking: an API token, a signed session cookie, or the local single user.

Sessions are signed cookies (itsdangerous): the user's id and name and a CSRF secret, and
nothing stored server-side.  Every unsafe method needs the CSRF secret back (a header
for ``fetch()``, a form field for plain forms), unless it is authenticated by a Bearer
token, which a browser never sends on its own.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeVar

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from mlradar.web.problems import LoginRequired, Problem

if TYPE_CHECKING:
    from mlradar._radar import Radar, RadarCore
    from mlradar.types import User
    from mlradar.web.app import WebSettings
    from mlradar.web.cache import ViewCache

T = TypeVar("T")

COOKIE = "mlradar_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"


@dataclass(frozen=True, slots=True)
class Session:
    user_id: int | None
    name: str | None
    csrf: str


@dataclass(frozen=True, slots=True)
class Principal:
    user: User | None
    via: Literal["token", "session", "local", "anonymous"]
    csrf: str


class SessionCodec:
    def __init__(self, secret: str, max_age: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="mlradar.session")
        self.max_age = max_age

    def dump(self, session: Session) -> str:
        return self._serializer.dumps([session.user_id, session.name, session.csrf])

    def load(self, cookie: str | None) -> Session | None:
        if not cookie or len(cookie) > 4096:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=self.max_age)
        except (BadSignature, ValueError, TypeError):
            return None
        if not (isinstance(data, list) and len(data) == 3 and isinstance(data[2], str)):
            return None
        uid, name, csrf = data
        if not (uid is None or isinstance(uid, int)) or not (name is None or isinstance(name, str)):
            return None
        return Session(uid, name, csrf)


def new_session(user: User | None = None) -> Session:
    """A fresh session (a new CSRF secret: logging in or out rotates it)."""
    return Session(
        user.id if user else None, user.name if user else None, secrets.token_urlsafe(24)
    )


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def start_session(request: Request, session: Session) -> None:
    """Send ``session`` as the cookie with this response (the middleware writes it)."""
    request.state.set_session = session
    request.state.principal = None


def _core(request: Request) -> RadarCore:
    core: RadarCore = request.app.state.core
    return core


def principal(request: Request) -> Principal:
    """Who makes this request (looked up once per request)."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    core = _core(request)
    web: WebSettings = request.app.state.web
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, token = auth.partition(" ")
        user = core.accounts.user_for_token(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise Problem(401, "Not signed in", "the API token is invalid or revoked")
        found = Principal(user, "token", "")
    else:
        codec: SessionCodec = request.app.state.codec
        session = codec.load(request.cookies.get(COOKIE))
        if session is None:
            session = new_session()
            request.state.set_session = session
        if web.local_user is not None:
            found = Principal(request.app.state.local_user, "local", session.csrf)
        elif session.name is not None:
            user = core.accounts.session_user(session.user_id, session.name)
            found = Principal(user, "session" if user else "anonymous", session.csrf)
        else:
            found = Principal(None, "anonymous", session.csrf)
    request.state.principal = found
    return found


def current_user(request: Request) -> User:
    """The user, for the API: 401 without one."""
    user = principal(request).user
    if user is None:
        raise Problem(401, "Not signed in", "log in, or send an API token as 'Bearer <token>'")
    return user


def api_radar(request: Request) -> Radar:
    return _core(request).for_user(current_user(request))


def page_radar(request: Request) -> Radar:
    """The user's view, for a page: to the login page without one."""
    user = principal(request).user
    if user is None:
        raise LoginRequired()
    return _core(request).for_user(user)


async def csrf_guard(request: Request) -> None:
    """Refuse an unsafe request that does not carry the session's CSRF secret."""
    if request.method in SAFE_METHODS:
        return
    who = principal(request)
    if who.via == "token":
        forget_cached(request, who)
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        kind = request.headers.get("content-type", "")
        if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent.encode(), who.csrf.encode()):
        raise Problem(
            403,
            "CSRF check failed",
            "this form or request lacks its CSRF token (reload the page and try again)",
        )
    forget_cached(request, who)


def forget_cached(request: Request, who: Principal) -> None:
    """An unsafe request may change what the user's pages show: drop their cached views
    (every write route passes here, so a new one cannot forget to)."""
    if who.user is not None:
        request.app.state.cache.forget_user(who.user.id)


def cached(request: Request, radar: Radar, key: Hashable, make: Callable[[], T]) -> T:
    """``make()``, or its value from a few seconds ago for this user and ``key``."""
    cache: ViewCache = request.app.state.cache
    return cache.get_or_make(radar._user_id, key, make)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
