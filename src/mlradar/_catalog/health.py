"""Link health: is a catalog URL still there, has it moved, or is it gone?

How an answer maps to a status (:func:`classify`, pure):

* **unreachable**: no HTTP answer (DNS failure, refused connection, timeout, TLS error,
  too many redirects), or an answer that does not settle the question: 401/403 (the
  server refuses robots or wants a login), 429, any 5xx, or a redirect that ends on a login
  page.  Transient by nature, so it never counts as gone.
* **gone**: 404, 410 or 451; a redirect that ends on a parked or for-sale domain; or a
  specific page (a post, a course) redirected to the bare home page of a site, which is how
  many blogs answer for pages they deleted.
* **moved**: permanent redirects (301/308) from the start of the chain lead to a different
  resource; ``new_url`` is where the permanent hops end.  A permanent redirect to the same
  resource in another form (http to https, adding ``www.``, a trailing slash) is **ok**.
* **ok**: any other 2xx answer, including after temporary redirects (302/303/307): a
  temporary redirect says the resource still lives at its URL (sites use them for
  locales, A/B tests and session set-up).

The check sends HEAD first and falls back to GET when HEAD is refused (some servers answer
HEAD with 403, 404 or 405 while serving GET fine).  A GET whose body is too large is still
an answer: the page is there.  Requests go through :class:`~mlradar._fetch.Fetcher`, so
every hop passes the SSRF check; per host at most two requests run at once, a second
apart, and at most ``concurrency`` checks run in all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from mlradar._catalog.kinds import is_deep_page
from mlradar._catalog.urls import match_key_or_none
from mlradar._config import Settings
from mlradar._fetch import Fetcher, HostPolicy, arxiv_policies
from mlradar.exceptions import FetchError, RadarError
from mlradar.types import LinkState, LinkStatus

PERMANENT = frozenset({301, 308})
GONE_STATUSES = frozenset({404, 410, 451})
# HEAD answers after which a GET is worth trying.
_RETRY_WITH_GET = frozenset({400, 403, 404, 405, 406, 410, 429, 500, 501, 502, 503})
_PARKING_HOSTS = (
    "sedoparking.com",
    "sedo.com",
    "parkingcrew.net",
    "bodis.com",
    "above.com",
    "hugedomains.com",
    "dan.com",
    "afternic.com",
    "undeveloped.com",
    "domainmarket.com",
    "buydomains.com",
    "parklogic.com",
    "domainnamesales.com",
)
_LOGIN_WORDS = ("login", "signin", "sign-in", "sign_in", "log-in", "auth/", "accounts/")

#: Defaults for ``mlradar catalog check``.
from mlradar._catalog.limits import DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT  # noqa: E402

PER_HOST_CONNECTIONS = 2
PER_HOST_INTERVAL = 1.0
# Enough to know a GET answered; the body itself is not needed.
_MAX_CHECK_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Probe:
    """What checking one URL observed."""

    url: str
    status: int | None = None
    final_url: str | None = None
    redirects: tuple[tuple[int, str], ...] = ()
    error: str | None = None


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower().removeprefix("www.")


def _parked(url: str) -> bool:
    host = _host(url)
    lowered = url.lower()
    return (
        any(host == h or host.endswith("." + h) for h in _PARKING_HOSTS)
        or "forsale" in host
        or "domain-for-sale" in lowered
        or "/for-sale" in lowered
    )


def _login_page(url: str) -> bool:
    path = urlsplit(url).path.lower() + "/"
    return any(word in path for word in _LOGIN_WORDS) or _host(url).startswith(("login.", "auth."))


def _specific_page(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.query) or is_deep_page(parts.path)


def _home_page(url: str) -> bool:
    parts = urlsplit(url)
    return parts.path in ("", "/") and not parts.query


def _permanent_target(redirects: Sequence[tuple[int, str]]) -> str | None:
    """Where the permanent hops at the start of the chain lead, or None if none is."""
    target = None
    for status, location in redirects:
        if status not in PERMANENT:
            break
        target = location
    return target


def same_resource(a: str, b: str) -> bool:
    """Whether two URLs name one resource (scheme, ``www.``, trailing slash aside)."""
    ka, kb = match_key_or_none(a), match_key_or_none(b)
    return ka is not None and ka == kb


def classify(probe: Probe, checked_at: datetime) -> LinkStatus:
    """The health of a link from what checking it observed (see the module docstring)."""

    def result(
        status: LinkState, *, new_url: str | None = None, error: str | None = None
    ) -> LinkStatus:
        return LinkStatus(
            status=status,
            checked_at=checked_at,
            http_status=probe.status,
            new_url=new_url,
            error=error,
        )

    if probe.status is None:
        return result("unreachable", error=probe.error or "no answer")
    final = probe.final_url or probe.url
    if probe.status in GONE_STATUSES:
        return result("gone", error=f"HTTP {probe.status}")
    if probe.status >= 400:
        why = "the server refused the check" if probe.status in (401, 403, 429) else "error"
        return result("unreachable", error=f"HTTP {probe.status}: {why}")
    if not probe.redirects:
        return result("ok")
    if _parked(final):
        return result("gone", error=f"redirects to a parked domain ({_host(final)})")
    if _login_page(final):
        return result("unreachable", error=f"redirects to a login page ({final})")
    if _specific_page(probe.url) and _home_page(final) and not same_resource(probe.url, final):
        return result("gone", error=f"redirects to the home page {final}")
    target = _permanent_target(probe.redirects)
    if target is None or same_resource(target, probe.url):
        return result("ok")
    return result("moved", new_url=target)


def _probe_from_response(
    url: str, status: int, final: str, redirects: Sequence[tuple[int, str]]
) -> Probe:
    return Probe(url=url, status=status, final_url=final, redirects=tuple(redirects))


async def probe(fetcher: Fetcher, url: str, timeout: float) -> Probe:
    """HEAD ``url`` (GET when HEAD is refused) and record what came back."""
    errors = range(400, 600)
    loop = asyncio.get_running_loop()
    began = loop.time()
    try:
        resp = await fetcher.get(url, method="HEAD", ok_statuses=errors)
        head = _probe_from_response(url, resp.status, resp.url, resp.redirects)
        if resp.status not in _RETRY_WITH_GET:
            return head
    except FetchError as exc:
        head = Probe(url=url, error=exc.message)
        if loop.time() - began >= timeout * 0.9:
            # A server too slow for HEAD will not be quicker for GET.
            return head
    try:
        resp = await fetcher.get(url, method="GET", ok_statuses=errors)
    except FetchError as exc:
        if exc.status is not None and 200 <= exc.status < 300:
            # The page answered; only its body was too large or undecodable.
            return Probe(url=url, status=exc.status, final_url=url)
        return head if head.status is not None else Probe(url=url, error=exc.message)
    return _probe_from_response(url, resp.status, resp.url, resp.redirects)


def check_settings(settings: Settings, timeout: float) -> Settings:
    """The fetch settings for link checks: a shorter deadline and a smaller body cap."""
    return settings.model_copy(
        update={
            "total_timeout": timeout,
            "connect_timeout": min(settings.connect_timeout, timeout),
            "max_response_bytes": min(settings.max_response_bytes, _MAX_CHECK_BYTES),
        }
    )


def host_policies(settings: Settings, urls: Iterable[str]) -> dict[str, HostPolicy]:
    """Politeness for every host checked; arXiv keeps its own stricter policy."""
    policies = {
        host: HostPolicy(max_connections=PER_HOST_CONNECTIONS, min_interval=PER_HOST_INTERVAL)
        for host in {(urlsplit(u).hostname or "") for u in urls}
        if host
    }
    policies.update(arxiv_policies(settings))
    return policies


async def check_links(
    targets: Sequence[tuple[int, str]],
    settings: Settings,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_result: Callable[[int, LinkStatus], None] | None = None,
    fetcher_factory: Callable[[Settings, Mapping[str, HostPolicy]], Fetcher] | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[tuple[int, LinkStatus]]:
    """Check each ``(key, url)``; results in the order they finish.

    ``on_result`` is called as each finishes, so an interrupted run keeps what it did.
    """
    limit = asyncio.Semaphore(max(1, concurrency))
    results: list[tuple[int, LinkStatus]] = []
    check = check_settings(settings, timeout)
    policies = host_policies(settings, (u for _, u in targets))
    make = fetcher_factory or (lambda s, p: Fetcher(s, policies=p))
    async with make(check, policies) as fetcher:

        async def one(key: int, url: str) -> None:
            async with limit:
                try:
                    observed = await probe(fetcher, url, timeout)
                except RadarError as exc:
                    # One bad URL must not end the run.
                    observed = Probe(url=url, error=str(exc))
            status = classify(observed, clock())
            results.append((key, status))
            if on_result is not None:
                on_result(key, status)

        await asyncio.gather(*(one(k, u) for k, u in targets))
    return results
