"""The asyncio HTTP client every network read of mlradar goes through.

One :class:`Fetcher` per run.  It owns the safety checks (:mod:`.safety`), the
politeness (:mod:`.politeness`), the size cap, the deadline, redirects and retries, so
that connectors only say *what* to fetch.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType

import httpx

from mlradar._config import Settings
from mlradar._fetch.body import ACCEPT_ENCODING, BoundedDecoder, DecodingError
from mlradar._fetch.headers import (
    format_seconds,
    format_size,
    parse_max_age,
    parse_ratelimit_pause,
    parse_retry_after,
)
from mlradar._fetch.politeness import (
    Clock,
    HostBlockedError,
    HostLimits,
    HostPolicy,
    SystemClock,
)
from mlradar._fetch.safety import AddressGuard, GuardedTransport, Resolver
from mlradar.exceptions import DeferredError, FetchError, InvalidInputError, UnsafeURLError

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
#: Statuses worth a retry when the host's policy allows retries.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: Statuses whose Retry-After pauses every request to the host, not just this one.
PAUSE_STATUSES = frozenset({429, 503})
_TRANSIENT_ERRORS = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)
_METHODS = frozenset({"GET", "HEAD"})
# The status of the last response a request in this asyncio task received.  A task per
# source (the update pipeline's) can then record what the server answered even when the
# connector fails afterwards, on a body it could not parse.
_last_status: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "mlradar_last_status", default=None
)


def last_response_status() -> int | None:
    """The HTTP status of the last response received by the current asyncio task (None:
    no response yet).  Tasks start from their creator's value: reset it with
    :func:`reset_response_status` at the start of a unit of work."""
    return _last_status.get()


def reset_response_status() -> None:
    """Forget the last response status of the current context."""
    _last_status.set(None)


@dataclass(frozen=True, slots=True)
class Response:
    """A fetched response, body read in full (bounded by ``max_response_bytes``).

    On a 304, ``etag`` and ``last_modified`` fall back to the validators the request
    sent when the server did not repeat them, so they can be stored as they are.
    """

    url: str
    status: int
    headers: Mapping[str, str]
    content: bytes
    etag: str | None
    last_modified: str | None
    retry_after: float | None
    max_age: float | None
    redirects: tuple[tuple[int, str], ...] = ()

    @property
    def not_modified(self) -> bool:
        """The server said the copy we have is current (304)."""
        return self.status == 304

    @property
    def permanent_redirect(self) -> str | None:
        """The final URL when every redirect hop was permanent (301/308), else None."""
        if self.redirects and all(status in PERMANENT_REDIRECTS for status, _ in self.redirects):
            return self.url
        return None

    @property
    def content_type(self) -> str | None:
        """The Content-Type header as sent, parameters included (``charset`` matters)."""
        return self.headers.get("content-type")

    @property
    def media_type(self) -> str | None:
        """The Content-Type without parameters, lowercased: ``application/atom+xml``."""
        value = self.content_type
        if value is None:
            return None
        return value.split(";", 1)[0].strip().lower() or None


@dataclass(frozen=True, slots=True)
class _Hop:
    """One exchange: the response head, plus its body unless it is a redirect to follow."""

    response: httpx.Response
    content: bytes | None


def _clean_validator(value: str | None) -> str | None:
    """A stored ETag/Last-Modified with control characters would make the request invalid."""
    if not value or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return None
    return value


def _validate_settings(settings: Settings) -> None:
    for name in ("max_connections", "max_connections_per_host"):
        if getattr(settings, name) < 1:
            raise InvalidInputError(f"{name} must be at least 1")
    for name in ("connect_timeout", "total_timeout"):
        if not getattr(settings, name) > 0:
            raise InvalidInputError(f"{name} must be a positive number of seconds")
    if settings.max_response_bytes < 0 or settings.max_redirects < 0:
        raise InvalidInputError("max_response_bytes and max_redirects must be >= 0")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _error(
    start: httpx.URL,
    current: httpx.URL,
    message: str,
    *,
    status: int | None = None,
    retry_after: float | None = None,
    unsafe: bool = False,
) -> FetchError:
    """The error for the requested URL, naming the hop when a redirect led elsewhere."""
    if current != start:
        message = f"{message} (redirected to {current})"
    cls = UnsafeURLError if unsafe else FetchError
    return cls(str(start), message, status=status, retry_after=retry_after)


class Fetcher:
    """Async HTTP client; use as ``async with Fetcher(settings) as f:``.

    ``policies`` maps host names to :class:`HostPolicy` (others get
    ``max_connections_per_host``).  ``transport`` replaces the network (tests): it then
    bypasses the DNS-level address check, only the URL-level one remains.  ``resolver``
    replaces DNS and ``exempt_addresses`` allows given ``(ip, port)`` pairs even when
    private; both exist for tests.  ``clock`` drives politeness waits and retry backoff.

    It is asyncio-only (its locks and deadlines are asyncio's).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        policies: Mapping[str, HostPolicy] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver | None = None,
        exempt_addresses: Iterable[tuple[str, int]] = (),
        clock: Clock | None = None,
    ) -> None:
        _validate_settings(settings)
        self._settings = settings
        self._clock: Clock = clock or SystemClock()
        self._guard = AddressGuard.create(
            allow_private=settings.allow_private_networks, exempt=exempt_addresses
        )
        limits = httpx.Limits(
            max_connections=settings.max_connections,
            max_keepalive_connections=settings.max_connections,
        )
        if transport is None:
            transport = GuardedTransport(self._guard, limits=limits, resolver=resolver)
        self._client = httpx.AsyncClient(
            transport=transport,
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            # The deadline below bounds the whole exchange; these bound each phase.
            timeout=httpx.Timeout(settings.total_timeout, connect=settings.connect_timeout),
            follow_redirects=False,
            # No cookies: a feed reader must not carry tracking state from host to host.
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            # No environment proxies or .netrc credentials: see safety.py.
            trust_env=False,
        )
        self._global = asyncio.Semaphore(settings.max_connections)
        self._hosts = HostLimits(
            HostPolicy(max_connections=settings.max_connections_per_host),
            policies or {},
            self._clock,
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections.  The fetcher cannot be used afterwards."""
        await self._client.aclose()

    def policy_for(self, host: str) -> HostPolicy:
        """The politeness policy that applies to ``host``."""
        return self._hosts.policy_for(host)

    async def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
        follow_redirects: bool = True,
        method: str = "GET",
        ok_statuses: Collection[int] = (),
        extra_headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Fetch ``url``; conditional when ``etag``/``last_modified`` are given.
        ``extra_headers`` are sent too (an API key).

        Statuses >= 400 raise :class:`FetchError` (``status`` set) unless listed in
        ``ok_statuses`` (for APIs that explain errors in the body, like arXiv's).
        Raises :class:`UnsafeURLError` for non-http(s) URLs and non-public addresses.
        """
        verb = method.upper()
        if verb not in _METHODS:
            raise InvalidInputError(f"unsupported method {method!r}: only GET and HEAD")
        try:
            start = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise FetchError(str(url), f"invalid URL: {_one_line(str(exc))}") from None
        headers = {"Accept": accept or "*/*"}
        if validator := _clean_validator(etag):
            headers["If-None-Match"] = validator
        if validator := _clean_validator(last_modified):
            headers["If-Modified-Since"] = validator
        headers.update(extra_headers or {})
        policy = self._hosts.policy_for(start.host)
        attempt = 0
        while True:
            try:
                response = await self._follow(
                    start, verb, headers, follow_redirects, frozenset(ok_statuses)
                )
            except FetchError as exc:
                delay = self._retry_delay(exc, policy, attempt)
                if delay is None:
                    raise
            else:
                return self._with_validators(response, etag, last_modified)
            attempt += 1
            if delay > 0:
                await self._clock.sleep(delay)

    @staticmethod
    def _with_validators(
        response: Response, etag: str | None, last_modified: str | None
    ) -> Response:
        """A 304 need not repeat the validators; the ones we sent are still current."""
        if not response.not_modified:
            return response
        return replace(
            response,
            etag=response.etag or _clean_validator(etag),
            last_modified=response.last_modified or _clean_validator(last_modified),
        )

    @staticmethod
    def _retry_delay(exc: FetchError, policy: HostPolicy, attempt: int) -> float | None:
        """Seconds to wait before retrying after ``exc``, or None to give up."""
        if attempt >= policy.max_retries:
            return None
        transient = exc.status in RETRY_STATUSES or isinstance(exc.__cause__, _TRANSIENT_ERRORS)
        if not transient:
            return None
        if exc.retry_after is not None:
            if exc.retry_after > policy.max_retry_wait:
                return None
            # A pausing status already holds the host's limiter for that long.
            return 0.0 if exc.status in PAUSE_STATUSES else exc.retry_after
        return policy.backoff * 2.0**attempt

    async def _follow(
        self,
        start: httpx.URL,
        method: str,
        headers: Mapping[str, str],
        follow_redirects: bool,
        ok_statuses: frozenset[int],
    ) -> Response:
        """Follow redirects by hand so that every hop passes the safety check."""
        loop = asyncio.get_running_loop()
        budget = self._settings.total_timeout
        redirects: list[tuple[int, str]] = []
        seen = {str(start)}
        current = start
        while True:
            try:
                self._guard.check_url(current)
            except UnsafeURLError as exc:
                raise _error(start, current, exc.message, unsafe=True) from None
            limiter = self._hosts.limiter_for(current.host)
            try:
                async with limiter.slot(self._global):
                    # The deadline spans every hop, but not the politeness waits.
                    began = loop.time()
                    try:
                        hop = await self._exchange(
                            start, current, method, headers, budget, follow_redirects, ok_statuses
                        )
                    finally:
                        budget -= loop.time() - began
            except HostBlockedError as exc:
                # Nothing was sent: another request's answer paused the host.  Deferred,
                # so that the caller does not charge this URL with that answer.
                raise DeferredError(
                    str(start),
                    f"deferred: {current.host} asked for a pause of {exc.seconds:.0f} s "
                    f"(HTTP {exc.status} with Retry-After to another request)",
                    retry_after=exc.seconds,
                ) from None
            response = hop.response
            if hop.content is not None:
                return self._response(current, response, hop.content, redirects)
            location = response.headers["location"].strip()
            try:
                target = current.join(location).copy_with(fragment=None)
            except (httpx.InvalidURL, ValueError):
                raise _error(
                    start, current, f"invalid redirect location {location[:200]!r}"
                ) from None
            redirects.append((response.status_code, str(target)))
            if len(redirects) > self._settings.max_redirects:
                raise _error(
                    start, current, f"too many redirects (more than {self._settings.max_redirects})"
                )
            if str(target) in seen:
                raise _error(start, current, f"redirect loop at {target}")
            seen.add(str(target))
            current = target

    async def _exchange(
        self,
        start: httpx.URL,
        url: httpx.URL,
        method: str,
        headers: Mapping[str, str],
        budget: float,
        follow_redirects: bool,
        ok_statuses: frozenset[int],
    ) -> _Hop:
        """One request under the deadline; body read unless it is a redirect to follow."""
        total = format_seconds(self._settings.total_timeout)
        try:
            async with asyncio.timeout(max(budget, 0.0)):
                request = self._client.build_request(method, url, headers=headers)
                response = await self._client.send(request, stream=True)
                try:
                    return await self._consume(start, url, response, follow_redirects, ok_statuses)
                finally:
                    await response.aclose()
        except TimeoutError:
            raise _error(start, url, f"timed out after {total}") from None
        except UnsafeURLError as exc:
            # Raised by the network backend, which only knows the host name.
            raise _error(start, url, exc.message, unsafe=True) from None
        except httpx.ConnectTimeout as exc:
            connect = format_seconds(self._settings.connect_timeout)
            raise _error(start, url, f"cannot connect: timed out after {connect}") from exc
        except httpx.ConnectError as exc:
            raise _error(start, url, f"cannot connect: {_one_line(str(exc)) or 'failed'}") from exc
        except httpx.TimeoutException as exc:
            raise _error(start, url, f"timed out after {total}") from exc
        except httpx.HTTPError as exc:
            # Protocol violations, resets mid-body, an invalid request header...
            reason = _one_line(str(exc)) or type(exc).__name__
            raise _error(start, url, f"connection failed: {reason}") from exc

    async def _consume(
        self,
        start: httpx.URL,
        url: httpx.URL,
        response: httpx.Response,
        follow_redirects: bool,
        ok_statuses: frozenset[int],
    ) -> _Hop:
        status = response.status_code
        _last_status.set(status)
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if retry_after is None and status in PAUSE_STATUSES:
            # Reddit says when its window resets instead of sending Retry-After.
            retry_after = parse_ratelimit_pause(response.headers, limited=True)
        if retry_after is not None and status in PAUSE_STATUSES:
            self._hosts.limiter_for(url.host).defer(retry_after, status)
        elif (spent := parse_ratelimit_pause(response.headers)) is not None:
            # Nothing left of the window: no request to the host until it resets (a
            # request made before then would be a 429).
            self._hosts.limiter_for(url.host).defer(spent, 429)
        if follow_redirects and status in REDIRECT_STATUSES:
            if not response.headers.get("location", "").strip():
                raise _error(start, url, f"HTTP {status} redirect without a Location")
            return _Hop(response, None)
        if status >= 400 and status not in ok_statuses:
            phrase = httpx.codes.get_reason_phrase(status)
            message = f"HTTP {status} {phrase}".rstrip()
            if retry_after is not None:
                message += f" (retry after {retry_after:.0f} s)"
            raise _error(start, url, message, status=status, retry_after=retry_after)
        if response.request.method == "HEAD" or status in (204, 304):
            # Drain the (empty) body: closing an unread stream makes httpcore drop the
            # connection, and a warm update is mostly 304s on kept-alive connections.
            drained = 0
            async for raw in response.aiter_raw():
                drained += len(raw)
                if drained > 65536:
                    break
            return _Hop(response, b"")
        return _Hop(response, await self._read_body(start, url, response))

    async def _read_body(self, start: httpx.URL, url: httpx.URL, response: httpx.Response) -> bytes:
        """Stream the body, decoding as it comes, and stop at ``max_response_bytes``."""
        cap = self._settings.max_response_bytes
        too_large = f"response larger than {format_size(cap)}"
        try:
            decoder = BoundedDecoder(response.headers.get("content-encoding"))
        except DecodingError as exc:
            raise _error(start, url, str(exc), status=response.status_code) from None
        declared = response.headers.get("content-length", "").strip()
        if decoder.identity and declared.isdigit() and int(declared) > cap:
            raise _error(start, url, too_large, status=response.status_code)
        chunks: list[bytes] = []
        size = received = 0
        try:
            async for raw in response.aiter_raw():
                received += len(raw)
                data = decoder.feed(raw, cap - size + 1)
                size += len(data)
                # The raw bound stops trailing junk after a compressed stream's end.
                if size > cap or received > cap:
                    raise _error(start, url, too_large, status=response.status_code)
                chunks.append(data)
            tail = decoder.flush(cap - size + 1)
        except DecodingError as exc:
            raise _error(start, url, str(exc), status=response.status_code) from None
        if size + len(tail) > cap:
            raise _error(start, url, too_large, status=response.status_code)
        chunks.append(tail)
        return b"".join(chunks)

    def _response(
        self,
        url: httpx.URL,
        response: httpx.Response,
        content: bytes,
        redirects: list[tuple[int, str]],
    ) -> Response:
        headers = response.headers
        return Response(
            url=str(url),
            status=response.status_code,
            headers=headers,
            content=content,
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
            retry_after=parse_retry_after(headers.get("retry-after")),
            max_age=parse_max_age(headers.get("cache-control"), headers.get("age")),
            redirects=tuple(redirects),
        )
