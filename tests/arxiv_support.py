"""Helpers shared by the arXiv tests: recorded API responses, a loopback reroute."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from pytest_httpserver import HTTPServer

from mlradar.types import Paper


@dataclass(frozen=True)
class Recorded:
    """One real arXiv API exchange: the request URL, the status and the Atom body."""

    name: str
    url: str
    status: int
    body: str

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.url).query, keep_blank_values=True))


def recorded_responses(shared_data: Path) -> dict[str, Recorded]:
    out = {}
    for path in sorted((shared_data / "arxiv" / "api-responses").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        out[path.stem] = Recorded(path.stem, data["url"], data["status_code"], data["body"])
    return out


def serve_recorded(httpserver: HTTPServer, recorded: dict[str, Recorded]) -> None:
    """Answer each recorded request (matched on its whole query string) as arXiv did."""
    for r in recorded.values():
        httpserver.expect_request("/api/query", query_string=r.query).respond_with_data(
            r.body, status=r.status, content_type="application/atom+xml; charset=utf-8"
        )


class RerouteTransport(httpx.AsyncBaseTransport):
    """Sends requests for arXiv's real hosts to a loopback server instead.

    The client still sees (and applies its politeness policy to) ``export.arxiv.org``;
    only the connection goes to 127.0.0.1.
    """

    def __init__(self, server: HTTPServer) -> None:
        self._server = server
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(
            scheme="http", host=self._server.host, port=self._server.port
        )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def rerouting(server: HTTPServer) -> Any:
    """A fetcher factory for :func:`mlradar.make_radar` that sends every request to
    ``server`` (through :class:`RerouteTransport`), as the radar's only way out."""
    from mlradar._fetch import Fetcher

    def make(settings: Any, policies: Any) -> Fetcher:
        return Fetcher(settings, policies=policies, transport=RerouteTransport(server))

    return make


def synthetic_papers(
    n: int, title: Callable[[int], str], abstract: Callable[[int], str]
) -> list[Paper]:
    """``n`` cs.LG papers of May 2025, the k-th titled ``title(k)``, over four days."""
    return [
        Paper(
            arxiv_id=f"2505.{k + 1:05d}",
            title=title(k),
            authors=("A. Author",),
            categories=("cs.LG",),
            abstract=abstract(k),
            first_version_at=date(2025, 5, 1) + timedelta(days=k % 4),
            updated_at=date(2025, 5, 1),
        )
        for k in range(n)
    ]
