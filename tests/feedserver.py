"""A loopback HTTP server for feeds: tests and benchmarks serve real feed files with it.

It answers conditional GETs the way a well-behaved feed host does (ETag and
Last-Modified, 304 when nothing changed) and records every request, so a test can
check which headers the client sent.  Routes can also misbehave on purpose.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LAST_MODIFIED = "Tue, 01 Jul 2025 00:00:00 GMT"


class _Server(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: a radar opening dozens of connections at
    # once on a loaded machine then sees SYNs dropped and retried a second or more later,
    # which a test with a 2 s connect timeout reads as a dead server.
    request_queue_size = 128


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "application/xml"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    conditional: bool = True


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self.gzip = True
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, body: bytes | str = b"", **kw: object) -> str:
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = Route(body=data, **kw)  # type: ignore[arg-type]
        return self.url(path)

    def seen(self, path: str) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def start(self) -> FeedServer:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:
                self.do_GET(head=True)

            def do_GET(self, head: bool = False) -> None:
                with server._lock:
                    server.requests.append(Seen(self.path, dict(self.headers.items())))
                route = server.routes.get(self.path)
                if route is None:
                    return self._send(404, b"not found", "text/plain", {}, head)
                if route.delay:
                    time.sleep(route.delay)
                etag = '"' + hashlib.sha1(route.body).hexdigest()[:16] + '"'
                extra = dict(route.headers)
                if route.conditional and route.status == 200:
                    extra.setdefault("ETag", etag)
                    extra.setdefault("Last-Modified", LAST_MODIFIED)
                    if self.headers.get("If-None-Match") == etag or (
                        self.headers.get("If-Modified-Since") == LAST_MODIFIED
                        and "If-None-Match" not in self.headers
                    ):
                        return self._send(304, b"", None, extra, head)
                return self._send(route.status, route.body, route.content_type, extra, head)

            def _send(
                self,
                status: int,
                body: bytes,
                ctype: str | None,
                headers: dict[str, str],
                head: bool,
            ) -> None:
                if server.gzip and body and "gzip" in self.headers.get("Accept-Encoding", ""):
                    body = gzip.compress(body, compresslevel=1)
                    headers = {**headers, "Content-Encoding": "gzip"}
                self.send_response(status)
                if ctype:
                    self.send_header("Content-Type", ctype)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body and not head:
                    with suppress(BrokenPipeError, ConnectionResetError):
                        self.wfile.write(body)

        return Handler


@contextmanager
def serving(setup: Callable[[FeedServer], None] | None = None) -> Iterator[FeedServer]:
    server = FeedServer()
    if setup:
        setup(server)
    server.start()
    try:
        yield server
    finally:
        server.stop()
