"""A loopback HTTP server that misbehaves on purpose, one way per path.

Each behaviour writes raw bytes on the socket (status line and headers included), so a
case can drip its headers, lie about its length or never end.  The server counts the
bytes it managed to send per path: a client that stops reading at its cap shows up as a
count far below what the path offered (2 GB), which is how the suite bounds memory and
time without timing anything.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
#: What the unbounded paths offer: 2 GB, of which a capped client reads a few MiB.
HUGE = 2 * 1024**3
CHUNK = 64 * 1024
#: Seconds between the bytes of the slow paths, and the most bytes they drip.
DRIP_INTERVAL = 0.5
DRIP_MAX = 240

RSS = """<?xml version="1.0" encoding="{encoding}"?>
<rss version="2.0"><channel><title>{title}</title><link>http://example.org/</link>
{items}</channel></rss>"""
ITEM = """<item><title>{title}</title><link>http://example.org/{n}</link><guid>{n}</guid>
<description>{body}</description></item>"""


def feed(title: str, entries: int = 2, *, encoding: str = "utf-8", body: str = "text") -> str:
    items = "".join(
        ITEM.format(title=f"{title} {i}", n=f"{title}-{i}".replace(" ", "-"), body=body)
        for i in range(entries)
    )
    return RSS.format(encoding=encoding, title=title, items=items)


@cache
def gzip_bomb() -> bytes:
    """256 MiB of zeros in about 250 KB of gzip."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    block = b"\0" * (1024 * 1024)
    parts = [compressor.compress(block) for _ in range(256)]
    return b"".join([*parts, compressor.flush()])


Behaviour = Callable[["_Handler"], None]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HostileServer  # type: ignore[assignment]

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        self.server.hits[path] += 1
        behaviour = self.server.routes.get(path)
        if behaviour is None:
            return self.respond(404, b"not found", "text/plain")
        with suppress(BrokenPipeError, ConnectionResetError, TimeoutError, OSError):
            behaviour(self)

    # -- writing -----------------------------------------------------------------------

    def raw(self, data: bytes) -> None:
        self.wfile.write(data)
        self.server.sent[self.path] += len(data)

    def head(self, status: int, headers: dict[str, str]) -> None:
        lines = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.raw(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def respond(
        self,
        status: int,
        body: bytes,
        content_type: str | None = "application/xml",
        headers: dict[str, str] | None = None,
    ) -> None:
        extra = dict(headers or {})
        if content_type:
            extra["Content-Type"] = content_type
        extra["Content-Length"] = str(len(body))
        self.head(status, extra)
        self.raw(body)

    def drip(self, data: bytes) -> None:
        for i in range(min(len(data), DRIP_MAX)):
            if self.server.stopping.is_set():
                return
            self.raw(data[i : i + 1])
            time.sleep(DRIP_INTERVAL)

    def endless(self) -> None:
        block = b"<item><title>x</title></item>" * (CHUNK // 29)
        while self.server.sent[self.path] < HUGE and not self.server.stopping.is_set():
            self.raw(block)


class HostileServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Behaviour] = {}
        self.hits: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()
        self.stopping = threading.Event()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def add(self, path: str, behaviour: Behaviour) -> str:
        self.routes[path] = behaviour
        return path

    def serve(self, path: str, body: bytes | str, content_type: str = "application/xml") -> str:
        data = body.encode() if isinstance(body, str) else body
        return self.add(path, lambda h: h.respond(200, data, content_type))


def install_cases(server: HostileServer) -> dict[str, str]:
    """Mount every hostile case; returns path -> what its source must end with (a
    substring of its error, or ``warning:`` + a substring of its warning, or ``stored:``
    + a substring of a stored title)."""
    expect: dict[str, str] = {}

    def case(path: str, behaviour: Behaviour, outcome: str) -> None:
        server.add(path, behaviour)
        expect[path] = outcome

    def status(code: int, retry_after: str | None = None) -> Behaviour:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return lambda h: h.respond(code, b"<html>busy</html>", "text/html", headers)

    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
    case("/500", status(500), "HTTP 500")
    case("/429-seconds", status(429, "1"), "HTTP 429 Too Many Requests (retry after 1 s)")
    case("/503-date", status(503, soon), "HTTP 503 Service Unavailable (retry after")
    case("/429-junk", status(429, "soon, maybe"), "HTTP 429 Too Many Requests")
    slow_head = b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\n" + b"X: y\r\n" * 40
    case("/slow-headers", lambda h: h.drip(slow_head), "timed out after")

    def slow_body(h: _Handler) -> None:
        body = feed("slow").encode()
        h.head(200, {"Content-Type": "application/xml", "Content-Length": str(len(body))})
        h.drip(body)

    case("/slow-body", slow_body, "timed out after")

    def huge_declared(h: _Handler) -> None:
        h.head(200, {"Content-Type": "application/xml", "Content-Length": str(HUGE)})
        h.endless()

    def huge_undeclared(h: _Handler) -> None:
        h.close_connection = True
        h.head(200, {"Content-Type": "application/xml", "Connection": "close"})
        h.raw(b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>')
        h.endless()

    case("/huge-declared", huge_declared, "response larger than 8 MiB")
    case("/huge-undeclared", huge_undeclared, "response larger than 8 MiB")

    data = gzip_bomb()  # made now: making it on the request would eat the client's deadline

    def bomb(h: _Handler) -> None:
        headers = {"Content-Type": "application/xml", "Content-Encoding": "gzip"}
        h.respond(200, data, None, {**headers, "Content-Length": str(len(data))})

    case("/gzip-bomb", bomb, "response larger than 8 MiB")

    def redirect(location: str) -> Behaviour:
        return lambda h: h.respond(302, b"", None, {"Location": location})

    server.add("/loop-b", redirect("/loop-a"))
    case("/loop-a", redirect("/loop-b"), "redirect loop")
    case("/to-private", redirect("http://10.0.0.1/feed.xml"), "refusing 10.0.0.1: a private")
    case(
        "/to-metadata",
        redirect("http://169.254.169.254/latest/meta-data/"),
        "refusing 169.254.169.254: a link-local",
    )
    case("/to-loopback", redirect("http://127.0.0.1:9/feed.xml"), "refusing 127.0.0.1")
    case("/to-file", redirect("file:///etc/passwd"), "unsupported URL scheme 'file'")
    case("/to-gopher", redirect("gopher://127.0.0.1:70/_x"), "unsupported URL scheme 'gopher'")
    # A feed under a wrong type is still a feed: its content decides.
    wrong = feed("Wrong type").encode()
    case("/wrong-type", lambda h: h.respond(200, wrong, "image/png"), "stored:Wrong type 0")
    page = b"<!doctype html><html><head><title>Blog</title></head><body>hi</body></html>"
    case("/html-page", lambda h: h.respond(200, page, "text/html"), "this is an HTML page")
    laughs = (FIXTURES / "billion_laughs.xml").read_bytes()
    case("/billion-laughs", lambda h: h.respond(200, laughs), "stored:")
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<rss version="2.0"><channel><title>XXE</title><item><title>XXE &xxe; end</title>'
        b"<guid>x</guid><description>&xxe;</description></item></channel></rss>"
    )
    case("/xxe", lambda h: h.respond(200, xxe), "stored:XXE")
    bad = feed("Café", 3).encode().replace(b"Caf\xc3\xa9 1", b"Caf\xff 1")
    case("/bad-utf8", lambda h: h.respond(200, bad), "warning:1 invalid utf-8 byte sequence")
    mislabelled = feed("Ünïcode", encoding="iso-8859-1").encode("utf-8")
    case(
        "/wrong-charset",
        lambda h: h.respond(200, mislabelled),
        "warning:says it is iso-8859-1 but is UTF-8",
    )
    wide = feed("Wïde", encoding="utf-16").encode("utf-16-le")  # no BOM
    case("/utf16-nobom", lambda h: h.respond(200, wide), "stored:Wïde 0")
    big = feed("Big", 0).replace(
        "</channel>",
        "".join(f"<item><title>B{i}</title><guid>b{i}</guid></item>" for i in range(100_000))
        + "</channel>",
    )
    big_bytes = big.encode()
    case(
        "/100k-entries",
        lambda h: h.respond(200, big_bytes),
        "the feed is too big to read safely (about 100,000 entries",
    )
    return expect


@contextmanager
def hostile_server() -> Iterator[HostileServer]:
    server = HostileServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()


__all__ = ["HostileServer", "feed", "hostile_server", "install_cases"]
