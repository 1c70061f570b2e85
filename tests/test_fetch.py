"""The HTTP layer against a real loopback server: statuses, caching headers, redirects,
size cap, compression, deadlines, politeness, retries and the SSRF guard.

Loopback is a private address, so most tests allow private networks; the safety tests
turn that off and exempt only the test server's own (ip, port) where they need it.
No test connects anywhere but 127.0.0.1 / ::1: refusals happen before any connection.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request
from werkzeug import Response as WResponse

from mlradar._config import Settings
from mlradar._fetch import (
    ARXIV_HOSTS,
    Fetcher,
    HostPolicy,
    Response,
    address_problem,
    arxiv_policies,
)
from mlradar._fetch.body import BoundedDecoder, DecodingError
from mlradar._fetch.headers import format_size, parse_max_age, parse_retry_after
from mlradar.exceptions import DeferredError, FetchError, InvalidInputError, UnsafeURLError

# --------------------------------------------------------------------------- helpers


class FakeClock:
    """Politeness and backoff time that passes instantly; records every wait."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds
        await asyncio.sleep(0)


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "allow_private_networks": True,
        "connect_timeout": 2.0,
        "total_timeout": 5.0,
    }
    values.update(overrides)
    return Settings(**values)


def run(coro: Awaitable[Any]) -> Any:
    async def main() -> Any:
        return await coro

    return asyncio.run(main())


def fetch(url: str, settings: Settings | None = None, *, fetcher: Any = None, **kw: Any) -> Any:
    """One get() through a fresh Fetcher; ``fetcher`` holds Fetcher keyword arguments."""

    async def go() -> Response:
        async with Fetcher(settings or make_settings(), **(fetcher or {})) as f:
            return await f.get(url, **kw)

    return run(go())


def fetch_many(
    calls: Callable[[Fetcher], Sequence[Awaitable[Any]]],
    settings: Settings | None = None,
    **fetcher_kw: Any,
) -> list[Any]:
    async def go() -> list[Any]:
        async with Fetcher(settings or make_settings(), **fetcher_kw) as f:
            return await asyncio.gather(*calls(f), return_exceptions=True)

    result: list[Any] = run(go())
    return result


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def fixed_resolver(table: dict[str, list[str]], calls: list[str] | None = None) -> Any:
    async def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


@pytest.fixture(scope="module")
def _server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture
def server(_server: HTTPServer) -> Iterator[HTTPServer]:
    _server.clear()
    yield _server
    _server.clear()


class InFlight:
    """Counts concurrent requests seen by the server, and when each arrived."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.current = 0
        self.peak = 0
        self.arrivals: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> WResponse:
        with self._lock:
            self.arrivals.append(time.monotonic())
            self.current += 1
            self.peak = max(self.peak, self.current)
        try:
            time.sleep(self.delay)
        finally:
            with self._lock:
                self.current -= 1
        return WResponse("ok")


# --------------------------------------------------------------------------- basics


def test_ok_response_fields_and_user_agent(server: HTTPServer) -> None:
    server.expect_request("/feed").respond_with_data(
        "<rss/>",
        headers={
            "ETag": '"v1"',
            "Last-Modified": "Wed, 21 Oct 2015 07:28:00 GMT",
            "Cache-Control": "public, s-maxage=900, max-age=300",
        },
        content_type="application/rss+xml; charset=utf-8",
    )
    settings = make_settings(contact_email="me@example.org")
    resp = fetch(server.url_for("/feed"), settings, accept="application/rss+xml")
    assert resp.status == 200
    assert resp.content == b"<rss/>"
    assert resp.url == server.url_for("/feed")
    assert resp.etag == '"v1"'
    assert resp.last_modified == "Wed, 21 Oct 2015 07:28:00 GMT"
    assert resp.max_age == 300.0
    assert resp.retry_after is None
    assert resp.content_type == "application/rss+xml; charset=utf-8"
    assert resp.media_type == "application/rss+xml"
    assert resp.headers["ETAG"] == '"v1"'
    assert not resp.not_modified
    assert resp.permanent_redirect is None
    assert resp.redirects == ()
    request = server.log[0][0]
    assert request.headers["User-Agent"] == settings.user_agent
    assert "mailto:me@example.org" in request.headers["User-Agent"]
    assert request.headers["Accept"] == "application/rss+xml"
    assert request.headers["Accept-Encoding"] == "gzip, deflate"
    assert "If-None-Match" not in request.headers
    assert "If-Modified-Since" not in request.headers


def test_conditional_get_304_keeps_validators(server: HTTPServer) -> None:
    stamp = "Wed, 21 Oct 2015 07:28:00 GMT"
    server.expect_request(
        "/feed", headers={"If-None-Match": 'W/"abc"', "If-Modified-Since": stamp}
    ).respond_with_data("", status=304, headers={"Cache-Control": "max-age=60"})
    resp = fetch(server.url_for("/feed"), etag='W/"abc"', last_modified=stamp)
    assert resp.status == 304
    assert resp.not_modified
    assert resp.content == b""
    # The 304 did not repeat them: the validators sent stay valid.
    assert resp.etag == 'W/"abc"'
    assert resp.last_modified == stamp
    assert resp.max_age == 60.0


def test_validator_with_control_characters_is_not_sent(server: HTTPServer) -> None:
    server.expect_request("/feed").respond_with_data("x")
    resp = fetch(server.url_for("/feed"), etag='"a"\r\nX-Injected: 1')
    assert resp.status == 200
    request = server.log[0][0]
    assert "If-None-Match" not in request.headers
    assert "X-Injected" not in request.headers


def test_head_request_has_no_body(server: HTTPServer) -> None:
    server.expect_request("/feed", method="HEAD").respond_with_data("ignored")
    resp = fetch(server.url_for("/feed"), method="HEAD")
    assert resp.status == 200
    assert resp.content == b""


def test_unsupported_method_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="only GET and HEAD"):
        fetch("http://127.0.0.1:1/", method="POST")


@pytest.mark.parametrize(
    ("status", "message"), [(404, "HTTP 404 Not Found"), (500, "HTTP 500 Internal Server Error")]
)
def test_error_status_raises_with_status(server: HTTPServer, status: int, message: str) -> None:
    server.expect_request("/x").respond_with_data("nope", status=status)
    with pytest.raises(FetchError) as info:
        fetch(server.url_for("/x"))
    assert info.value.status == status
    assert info.value.message == message
    assert info.value.url == server.url_for("/x")
    assert not isinstance(info.value, UnsafeURLError)
    assert len(server.log) == 1  # no retries without a policy asking for them


def test_ok_statuses_return_the_error_body(server: HTTPServer) -> None:
    server.expect_request("/api").respond_with_data("<feed>bad query</feed>", status=400)
    resp = fetch(server.url_for("/api"), ok_statuses={400})
    assert resp.status == 400
    assert resp.content == b"<feed>bad query</feed>"


def test_cookies_are_not_kept(server: HTTPServer) -> None:
    server.expect_request("/c").respond_with_data("x", headers={"Set-Cookie": "track=1; Path=/"})

    async def twice(f: Fetcher) -> None:
        await f.get(server.url_for("/c"))
        await f.get(server.url_for("/c"))

    fetch_many(lambda f: [twice(f)])
    assert len(server.log) == 2
    assert "Cookie" not in server.log[1][0].headers


def test_invalid_url_is_a_fetch_error() -> None:
    with pytest.raises(FetchError, match="invalid URL"):
        fetch("http://[::1/")


# --------------------------------------------------------------------------- headers


def test_parse_max_age() -> None:
    assert parse_max_age("max-age=300") == 300.0
    assert parse_max_age('public, s-maxage=900, max-age="120"') == 120.0
    assert parse_max_age("s-maxage=900") is None
    assert parse_max_age("no-cache, max-age=300") is None
    assert parse_max_age("no-store") is None
    assert parse_max_age('private="a, max-age=5", max-age=50') == 50.0
    assert parse_max_age("max-age=abc") is None
    assert parse_max_age("max-age=-5") is None
    assert parse_max_age(None) is None
    assert parse_max_age("max-age=300", age="100") == 200.0
    assert parse_max_age("max-age=300", age="1000") == 0.0


def test_parse_retry_after() -> None:
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after(" 7 ", now) == 7.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("-3", now) is None
    assert parse_retry_after("", now) is None
    assert parse_retry_after(None, now) is None


def test_format_size() -> None:
    assert format_size(16 * 1024 * 1024) == "16 MiB"
    assert format_size(2048) == "2 KiB"
    assert format_size(1000) == "1000 bytes"


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds_on_error(server: HTTPServer, status: int) -> None:
    server.expect_request("/busy").respond_with_data(
        "", status=status, headers={"Retry-After": "90"}
    )
    with pytest.raises(FetchError) as info:
        fetch(server.url_for("/busy"))
    assert info.value.status == status
    assert info.value.retry_after == 90.0
    assert "retry after 90 s" in info.value.message


def test_retry_after_http_date(server: HTTPServer) -> None:
    when = datetime.now(UTC) + timedelta(seconds=30)
    server.expect_request("/busy").respond_with_data(
        "", status=503, headers={"Retry-After": format_datetime(when, usegmt=True)}
    )
    with pytest.raises(FetchError) as info:
        fetch(server.url_for("/busy"))
    assert info.value.retry_after is not None
    assert 25 <= info.value.retry_after <= 31


# --------------------------------------------------------------------------- redirects


def test_permanent_redirect_chain(server: HTTPServer) -> None:
    server.expect_request("/a").respond_with_data("", 301, {"Location": "/b"})
    server.expect_request("/b").respond_with_data("", 308, {"Location": server.url_for("/c")})
    server.expect_request("/c").respond_with_data("final", headers={"ETag": '"c"'})
    resp = fetch(server.url_for("/a"))
    assert resp.content == b"final"
    assert resp.url == server.url_for("/c")
    assert resp.permanent_redirect == server.url_for("/c")
    assert resp.redirects == ((301, server.url_for("/b")), (308, server.url_for("/c")))
    assert resp.etag == '"c"'


@pytest.mark.parametrize("temporary", [302, 307, 303])
def test_temporary_hop_is_not_a_permanent_redirect(server: HTTPServer, temporary: int) -> None:
    server.expect_request("/a").respond_with_data("", 301, {"Location": "/b"})
    server.expect_request("/b").respond_with_data("", temporary, {"Location": "/c"})
    server.expect_request("/c").respond_with_data("final")
    resp = fetch(server.url_for("/a"))
    assert resp.content == b"final"
    assert resp.permanent_redirect is None
    assert [status for status, _ in resp.redirects] == [301, temporary]


def test_conditional_headers_survive_redirects(server: HTTPServer) -> None:
    server.expect_request("/old").respond_with_data("", 301, {"Location": "/new"})
    server.expect_request("/new", headers={"If-None-Match": '"e"'}).respond_with_data("", 304)
    resp = fetch(server.url_for("/old"), etag='"e"')
    assert resp.not_modified
    assert resp.permanent_redirect == server.url_for("/new")


def test_redirect_loop(server: HTTPServer) -> None:
    server.expect_request("/a").respond_with_data("", 302, {"Location": "/b"})
    server.expect_request("/b").respond_with_data("", 302, {"Location": "/a"})
    with pytest.raises(FetchError, match="redirect loop") as info:
        fetch(server.url_for("/a"))
    assert info.value.url == server.url_for("/a")


def _chain(server: HTTPServer, hops: int) -> None:
    for i in range(hops):
        server.expect_request(f"/h{i}").respond_with_data("", 307, {"Location": f"/h{i + 1}"})
    server.expect_request(f"/h{hops}").respond_with_data("end")


def test_too_many_redirects(server: HTTPServer) -> None:
    _chain(server, 3)
    with pytest.raises(FetchError, match=r"too many redirects \(more than 2\)"):
        fetch(server.url_for("/h0"), make_settings(max_redirects=2))


def test_redirects_up_to_the_limit_are_followed(server: HTTPServer) -> None:
    _chain(server, 2)
    assert fetch(server.url_for("/h0"), make_settings(max_redirects=2)).content == b"end"


def test_follow_redirects_false_returns_the_redirect(server: HTTPServer) -> None:
    server.expect_request("/a").respond_with_data("moved", 301, {"Location": "/b"})
    resp = fetch(server.url_for("/a"), follow_redirects=False)
    assert resp.status == 301
    assert resp.headers["location"] == "/b"
    assert len(server.log) == 1


def test_redirect_without_location(server: HTTPServer) -> None:
    server.expect_request("/a").respond_with_data("", 302)
    with pytest.raises(FetchError, match="without a Location"):
        fetch(server.url_for("/a"))


def test_redirect_to_other_scheme_is_refused(server: HTTPServer) -> None:
    server.expect_request("/a").respond_with_data("", 302, {"Location": "file:///etc/passwd"})
    with pytest.raises(UnsafeURLError, match="unsupported URL scheme 'file'") as info:
        fetch(server.url_for("/a"))
    assert "(redirected to file:" in info.value.message


def test_error_after_redirect_names_the_hop(server: HTTPServer) -> None:
    server.expect_request("/a").respond_with_data("", 301, {"Location": "/gone"})
    server.expect_request("/gone").respond_with_data("", 410)
    with pytest.raises(FetchError) as info:
        fetch(server.url_for("/a"))
    assert info.value.status == 410
    assert info.value.url == server.url_for("/a")
    assert info.value.message == f"HTTP 410 Gone (redirected to {server.url_for('/gone')})"


# --------------------------------------------------------------------------- size and encoding


def test_declared_body_over_the_cap(server: HTTPServer) -> None:
    server.expect_request("/big").respond_with_data(b"x" * 5000)
    with pytest.raises(FetchError, match=r"response larger than 1000 bytes$") as info:
        fetch(server.url_for("/big"), make_settings(max_response_bytes=1000))
    assert info.value.status == 200


def test_streamed_body_over_the_cap_stops_reading(server: HTTPServer) -> None:
    sent: list[int] = []

    def endless() -> Iterator[bytes]:
        for _ in range(10_000):  # 640 MB if nobody stopped reading
            sent.append(1)
            yield b"y" * 65536

    server.expect_request("/stream").respond_with_response(WResponse(endless()))
    with pytest.raises(FetchError, match="response larger than 1 MiB"):
        fetch(server.url_for("/stream"), make_settings(max_response_bytes=1 << 20))
    assert len(sent) < 1000


def test_body_exactly_at_the_cap(server: HTTPServer) -> None:
    server.expect_request("/ok").respond_with_data(b"z" * 1000)
    resp = fetch(server.url_for("/ok"), make_settings(max_response_bytes=1000))
    assert len(resp.content) == 1000


def test_gzip_body_is_decoded(server: HTTPServer) -> None:
    body = b"<feed>" + b"entry " * 1000 + b"</feed>"
    server.expect_request("/gz").respond_with_data(
        gzip.compress(body), headers={"Content-Encoding": "gzip"}
    )
    assert fetch(server.url_for("/gz")).content == body


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib", "raw"])
def test_deflate_body_is_decoded(server: HTTPServer, wbits: int) -> None:
    body = b"deflated " * 500
    packer = zlib.compressobj(wbits=wbits)
    data = packer.compress(body) + packer.flush()
    server.expect_request("/df").respond_with_data(data, headers={"Content-Encoding": "deflate"})
    assert fetch(server.url_for("/df")).content == body


def test_gzip_bomb_stops_at_the_cap(server: HTTPServer) -> None:
    bomb = gzip.compress(b"\0" * (64 << 20), compresslevel=9)  # 64 MiB inflated, ~64 KiB sent
    assert len(bomb) < 1 << 20
    server.expect_request("/bomb").respond_with_data(bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError, match="response larger than 1 MiB"):
        fetch(server.url_for("/bomb"), make_settings(max_response_bytes=1 << 20))


def test_unsupported_or_corrupt_encoding(server: HTTPServer) -> None:
    server.expect_request("/br").respond_with_data(b"\x1b\x00", headers={"Content-Encoding": "br"})
    server.expect_request("/bad").respond_with_data(
        b"not gzip at all", headers={"Content-Encoding": "gzip"}
    )
    with pytest.raises(FetchError, match="unsupported Content-Encoding 'br'"):
        fetch(server.url_for("/br"))
    with pytest.raises(FetchError, match="corrupt compressed body"):
        fetch(server.url_for("/bad"))


def test_bounded_decoder_limits_output() -> None:
    decoder = BoundedDecoder("gzip")
    out = decoder.feed(gzip.compress(b"a" * 100_000), 11)
    assert out == b"a" * 11
    assert BoundedDecoder(None).feed(b"abc", 2) == b"ab"
    with pytest.raises(DecodingError):
        BoundedDecoder("zstd")


# --------------------------------------------------------------------------- timeouts, errors


def test_slow_drip_body_hits_the_total_timeout(server: HTTPServer) -> None:
    sent: list[int] = []

    def drip() -> Iterator[bytes]:
        for n in range(40):
            sent.append(n)
            yield b"x"
            time.sleep(0.1)

    server.expect_request("/drip").respond_with_response(WResponse(drip()))
    with pytest.raises(FetchError, match=r": timed out after 0\.5 s$") as info:
        fetch(server.url_for("/drip"), make_settings(total_timeout=0.5))
    # The client gave up long before the 4 s body ended: it did not wait for the drip.
    assert len(sent) < 40
    assert info.value.status is None


def test_slow_headers_hit_the_total_timeout(server: HTTPServer) -> None:
    release = threading.Event()

    def slow(request: Request) -> WResponse:
        release.wait(5)
        return WResponse("late")

    server.expect_request("/slow").respond_with_handler(slow)
    with pytest.raises(FetchError, match=r"timed out after 0\.3 s"):
        fetch(server.url_for("/slow"), make_settings(total_timeout=0.3))
    # Let the handler finish now, so its log entry cannot land in the next test.
    release.set()
    deadline = time.monotonic() + 5
    while not server.log and time.monotonic() < deadline:
        time.sleep(0.01)


def test_connection_refused() -> None:
    url = f"http://127.0.0.1:{closed_port()}/feed"
    with pytest.raises(FetchError) as info:
        fetch(url)
    assert info.value.message == "cannot connect: connection refused"
    assert info.value.status is None
    assert info.value.url == url


def test_unknown_host_is_a_connect_error() -> None:
    resolver = fixed_resolver({})
    with pytest.raises(FetchError, match=r"cannot connect: cannot resolve nowhere\.test"):
        fetch("http://nowhere.test/", fetcher={"resolver": resolver})


# --------------------------------------------------------------------------- retries


def _sequence(server: HTTPServer, path: str, responses: list[WResponse]) -> list[float]:
    """Serve ``responses`` in order (the last one repeats); returns arrival times."""
    arrivals: list[float] = []

    def handler(request: Request) -> WResponse:
        arrivals.append(time.monotonic())
        return responses[min(len(arrivals), len(responses)) - 1]

    server.expect_request(path).respond_with_handler(handler)
    return arrivals


def test_retries_wait_for_retry_after(server: HTTPServer) -> None:
    busy = WResponse("", 503, {"Retry-After": "2"})
    arrivals = _sequence(server, "/r", [busy, busy, WResponse("done")])
    clock = FakeClock()
    policies = {"127.0.0.1": HostPolicy(max_retries=3)}
    resp = fetch(server.url_for("/r"), fetcher={"policies": policies, "clock": clock})
    assert resp.content == b"done"
    assert len(arrivals) == 3
    assert clock.sleeps == [2.0, 2.0]


def test_retries_back_off_exponentially_without_retry_after(server: HTTPServer) -> None:
    arrivals = _sequence(server, "/r", [WResponse("", 502), WResponse("", 504), WResponse("ok")])
    clock = FakeClock()
    policies = {"127.0.0.1": HostPolicy(max_retries=3, backoff=1.0)}
    assert fetch(server.url_for("/r"), fetcher={"policies": policies, "clock": clock}).status == 200
    assert len(arrivals) == 3
    assert clock.sleeps == [1.0, 2.0]


def test_retries_give_up_after_max_retries(server: HTTPServer) -> None:
    arrivals = _sequence(server, "/r", [WResponse("", 503)])
    clock = FakeClock()
    policies = {"127.0.0.1": HostPolicy(max_retries=2)}
    with pytest.raises(FetchError) as info:
        fetch(server.url_for("/r"), fetcher={"policies": policies, "clock": clock})
    assert info.value.status == 503
    assert len(arrivals) == 3


def test_no_retry_on_404(server: HTTPServer) -> None:
    arrivals = _sequence(server, "/r", [WResponse("", 404)])
    policies = {"127.0.0.1": HostPolicy(max_retries=3)}
    with pytest.raises(FetchError):
        fetch(server.url_for("/r"), fetcher={"policies": policies, "clock": FakeClock()})
    assert len(arrivals) == 1


def test_connection_errors_are_retried() -> None:
    clock = FakeClock()
    policies = {"127.0.0.1": HostPolicy(max_retries=2, backoff=0.5)}
    with pytest.raises(FetchError, match="cannot connect"):
        fetch(
            f"http://127.0.0.1:{closed_port()}/",
            fetcher={"policies": policies, "clock": clock},
        )
    assert clock.sleeps == [0.5, 1.0]


def test_long_retry_after_gives_up_and_pauses_the_host(server: HTTPServer) -> None:
    arrivals = _sequence(server, "/r", [WResponse("", 429, {"Retry-After": "3600"})])
    clock = FakeClock()
    policies = {"127.0.0.1": HostPolicy(max_retries=3, max_retry_wait=120)}

    async def two(f: Fetcher) -> list[BaseException]:
        errors = []
        for _ in range(2):
            try:
                await f.get(server.url_for("/r"))
            except FetchError as exc:
                errors.append(exc)
        return errors

    (errors,) = fetch_many(lambda f: [two(f)], policies=policies, clock=clock)
    first, second = errors
    assert first.status == 429
    assert first.retry_after == 3600
    # The second request never reached the server: the host asked for an hour off.
    assert len(arrivals) == 1
    # ...so it is deferred, not charged with an answer it never got.
    assert isinstance(second, DeferredError) and second.status is None
    assert second.retry_after == pytest.approx(3600)
    assert "deferred" in second.message and "pause of 3600 s" in second.message
    assert clock.sleeps == []


def test_retry_after_delays_the_next_request_to_the_host(server: HTTPServer) -> None:
    arrivals = _sequence(
        server, "/r", [WResponse("", 429, {"Retry-After": "5"}), WResponse("fine")]
    )
    clock = FakeClock()

    async def two(f: Fetcher) -> bytes:
        with pytest.raises(FetchError):
            await f.get(server.url_for("/r"))  # no retries by default
        return (await f.get(server.url_for("/r"))).content

    (content,) = fetch_many(lambda f: [two(f)], clock=clock)
    assert content == b"fine"
    assert len(arrivals) == 2
    assert clock.sleeps == [5.0]


# --------------------------------------------------------------------------- politeness


def test_per_host_bound_from_policy(server: HTTPServer) -> None:
    counter = InFlight(delay=0.15)
    server.expect_request("/p").respond_with_handler(counter)
    policies = {"127.0.0.1": HostPolicy(max_connections=2)}
    results = fetch_many(
        lambda f: [f.get(server.url_for("/p")) for _ in range(6)], policies=policies
    )
    assert all(isinstance(r, Response) for r in results)
    assert counter.peak == 2


def test_per_host_bound_from_settings(server: HTTPServer) -> None:
    counter = InFlight(delay=0.15)
    server.expect_request("/p").respond_with_handler(counter)
    settings = make_settings(max_connections_per_host=3)
    results = fetch_many(lambda f: [f.get(server.url_for("/p")) for _ in range(7)], settings)
    assert all(isinstance(r, Response) for r in results)
    assert counter.peak == 3


def test_global_bound_across_hosts(server: HTTPServer) -> None:
    counter = InFlight(delay=0.15)
    server.expect_request("/p").respond_with_handler(counter)
    # Two host names for the same server: each may use 3, together only 4.
    by_name = server.url_for("/p").replace("127.0.0.1", "localhost")
    settings = make_settings(max_connections=4, max_connections_per_host=3)
    results = fetch_many(
        lambda f: [f.get(u) for u in [server.url_for("/p"), by_name] * 5], settings
    )
    assert all(isinstance(r, Response) for r in results), results
    assert counter.peak == 4


def test_min_interval_spaces_concurrent_requests(server: HTTPServer) -> None:
    # On the injected clock: the server's arrival times would measure the machine's load
    # (a request sent on time can be handled late, and two arrivals then look close).
    counter = InFlight(delay=0.0)
    server.expect_request("/p").respond_with_handler(counter)
    policies = {"127.0.0.1": HostPolicy(max_connections=4, min_interval=0.2)}
    clock = FakeClock()
    results = fetch_many(
        lambda f: [f.get(server.url_for("/p")) for _ in range(4)], policies=policies, clock=clock
    )
    assert all(isinstance(r, Response) for r in results)
    assert len(counter.arrivals) == 4
    # The first starts at once; each of the others waits out the 0.2 s spacing.
    assert clock.sleeps == [0.2, 0.2, 0.2]


def test_arxiv_policies() -> None:
    settings = make_settings(arxiv_interval_seconds=5)
    policies = arxiv_policies(settings)
    assert set(policies) == set(ARXIV_HOSTS) >= {"export.arxiv.org", "rss.arxiv.org"}
    for policy in policies.values():
        assert policy.max_connections == 1
        assert policy.min_interval == 5
        assert policy.max_retries == 3
    # The setting only goes up: arXiv asks for 3 s.
    assert arxiv_policies(make_settings(arxiv_interval_seconds=1))["arxiv.org"].min_interval == 3


def test_arxiv_hosts_share_one_spaced_slot(server: HTTPServer) -> None:
    """arXiv host names routed to the loopback server through the resolver hook."""
    port = server.port
    server.expect_request("/api").respond_with_data("<feed/>")
    clock = FakeClock()
    calls: list[str] = []
    resolver = fixed_resolver(
        {"export.arxiv.org": ["127.0.0.1"], "rss.arxiv.org": ["127.0.0.1"]}, calls
    )
    urls = [
        f"http://export.arxiv.org:{port}/api",
        f"http://rss.arxiv.org:{port}/api",
        f"http://export.arxiv.org:{port}/api",
    ]
    settings = make_settings(allow_private_networks=False)
    results = fetch_many(
        lambda f: [f.get(u) for u in urls],
        settings,
        policies=arxiv_policies(settings),
        resolver=resolver,
        exempt_addresses=[("127.0.0.1", port)],
        clock=clock,
    )
    assert all(isinstance(r, Response) for r in results), results
    assert clock.sleeps == [3.0, 3.0]
    hosts = sorted(request.headers["Host"] for request, _ in server.log)
    assert hosts == sorted(f"{u.split('/')[2]}" for u in urls)
    assert set(calls) == {"export.arxiv.org", "rss.arxiv.org"}


def test_invalid_policy_values() -> None:
    with pytest.raises(InvalidInputError):
        HostPolicy(max_connections=0)
    with pytest.raises(InvalidInputError):
        HostPolicy(min_interval=-1)
    with pytest.raises(InvalidInputError, match="disagree"):
        Fetcher(
            make_settings(),
            policies={"a": HostPolicy(group="g"), "b": HostPolicy(group="g", min_interval=1)},
        )
    with pytest.raises(InvalidInputError):
        Fetcher(make_settings(max_connections=0))


# --------------------------------------------------------------------------- safety


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/",
        "http://127.8.9.10/",
        "http://localhost:{port}/",
        "http://LOCALHOST./",
        "http://api.localhost/",
        "http://10.1.2.3/",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://0.0.0.0:{port}/",
        "http://[::1]:{port}/",
        "http://[::]/",
        "http://[::ffff:127.0.0.1]:{port}/",
        "http://[::ffff:10.0.0.1]/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://[ff02::1]/",
        "http://[2002:7f00:1::]/",
        "http://[64:ff9b::a00:1]/",
        "https://127.0.0.1/",
    ],
)
def test_private_literal_addresses_are_refused(server: HTTPServer, url: str) -> None:
    server.expect_request("/").respond_with_data("secret")
    settings = make_settings(allow_private_networks=False)
    calls: list[str] = []
    with pytest.raises(UnsafeURLError, match="allow_private_networks"):
        fetch(
            url.format(port=server.port), settings, fetcher={"resolver": fixed_resolver({}, calls)}
        )
    assert server.log == []
    assert calls == []


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.org/", "gopher://x/", "data:text/plain,hi", "x"]
)
def test_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURLError, match="unsupported URL scheme"):
        fetch(url)


@pytest.mark.parametrize(
    ("host", "addresses"),
    [
        ("internal.test", ["10.0.0.5"]),
        ("mixed.test", ["93.184.216.34", "127.0.0.1"]),  # EVERY address is checked
        ("v6.test", ["2606:4700::1111", "::ffff:192.168.0.1"]),
        ("meta.test", ["169.254.169.254"]),
    ],
)
def test_names_resolving_to_private_addresses_are_refused(host: str, addresses: list[str]) -> None:
    settings = make_settings(allow_private_networks=False)
    calls: list[str] = []
    with pytest.raises(UnsafeURLError, match="resolves to") as info:
        fetch(
            f"http://{host}/",
            settings,
            fetcher={"resolver": fixed_resolver({host: addresses}, calls)},
        )
    assert info.value.url == f"http://{host}/"
    assert calls == [host]


def test_numeric_host_forms_resolve_to_loopback_and_are_refused() -> None:
    # getaddrinfo reads these as 127.0.0.1; the URL check alone would miss them.
    settings = make_settings(allow_private_networks=False)
    for url in ("http://2130706433/", "http://0x7f.1/"):
        with pytest.raises(UnsafeURLError, match="loopback"):
            fetch(url, settings)


def test_connection_goes_to_the_checked_address(server: HTTPServer) -> None:
    """feeds.test exists only in the injected resolver: reaching the server proves the
    connection used the address that was checked, not a second (rebindable) lookup."""
    server.expect_request("/feed").respond_with_data("ok")
    calls: list[str] = []
    resolver = fixed_resolver({"feeds.test": ["127.0.0.1"]}, calls)
    resp = fetch(
        f"http://feeds.test:{server.port}/feed",
        make_settings(allow_private_networks=False),
        fetcher={"resolver": resolver, "exempt_addresses": [("127.0.0.1", server.port)]},
    )
    assert resp.content == b"ok"
    assert calls == ["feeds.test"]
    assert server.log[0][0].headers["Host"] == f"feeds.test:{server.port}"


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{closed}/",  # same address, another port: not exempt
        "http://10.0.0.1/admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://internal.test/",
        "http://[::1]:{port}/",
    ],
)
def test_redirect_to_private_address_is_refused(server: HTTPServer, target: str) -> None:
    location = target.format(closed=closed_port(), port=server.port)
    server.expect_request("/r").respond_with_data("", 302, {"Location": location})
    server.expect_request("/ok").respond_with_data("ok")
    fetcher = {
        "resolver": fixed_resolver({"internal.test": ["192.168.7.7"]}),
        "exempt_addresses": [("127.0.0.1", server.port)],
    }
    settings = make_settings(allow_private_networks=False)
    # The exempt test server itself is allowed...
    assert fetch(server.url_for("/ok"), settings, fetcher=fetcher).content == b"ok"
    # ...but not where it redirects.
    with pytest.raises(UnsafeURLError) as info:
        fetch(server.url_for("/r"), settings, fetcher=fetcher)
    assert f"(redirected to {location}" in info.value.message
    assert [request.path for request, _ in server.log] == ["/ok", "/r"]


def test_allow_private_networks_allows_loopback(server: HTTPServer) -> None:
    server.expect_request("/").respond_with_data("ok")
    url = server.url_for("/").replace("127.0.0.1", "localhost")
    assert fetch(url, make_settings(allow_private_networks=True)).content == b"ok"


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("8.8.8.8", None),
        ("93.184.216.34", None),
        ("2606:4700:4700::1111", None),
        ("127.0.0.1", "a loopback address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("10.0.0.1", "a private address"),
        ("169.254.1.1", "a link-local address"),
        ("fe80::1%eth0", "a link-local address"),
        ("0.0.0.0", "an unspecified address"),
        ("239.1.1.1", "a multicast address"),
        ("100.64.0.1", "a non-public address"),
        ("fec0::1", "a site-local address"),
    ],
)
def test_address_problem(address: str, problem: str | None) -> None:
    import ipaddress

    assert address_problem(ipaddress.ip_address(address)) == problem


def test_304s_keep_the_connection_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    """A warm update is mostly 304s: each must not cost a new connection."""
    import socket

    from tests.feedserver import serving

    connects = []
    real_connect = socket.socket.connect

    def counting_connect(self: socket.socket, *args: Any) -> Any:
        connects.append(args)
        return real_connect(self, *args)

    monkeypatch.setattr(socket.socket, "connect", counting_connect)

    async def run(base: str) -> list[int]:
        async with Fetcher(Settings(allow_private_networks=True)) as f:
            first = await f.get(base + "/feed")
            return [(await f.get(base + "/feed", etag=first.etag)).status for _ in range(5)]

    with serving(lambda s: s.add("/feed", b"<rss/>" * 100)) as server:
        assert asyncio.run(run(server.base)) == [304] * 5
    assert len(connects) == 1
