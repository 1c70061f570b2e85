"""The web tests' radar: the library tests' papers, a loopback feed with a hostile entry,
users with passwords, and clients that log in like a browser does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from mlradar import RadarCore
from mlradar._papers import store_papers
from mlradar.web import WebSettings, create_app
from tests.feedserver import FeedServer
from tests.test_library import make_papers

PASSWORD = "correct horse battery"
HOSTILE_TITLE = '<img src=x onerror="alert(1)">Hostile <script>alert(2)</script> title'
HOSTILE_BODY = (
    '<p>Hello <img src="x" onerror="alert(3)"> <script>alert(4)</script>'
    '<a href="javascript:alert(5)">click</a> <svg onload="alert(6)"></svg>'
    '<iframe src="javascript:alert(7)"></iframe>'
    '<a href="https://arxiv.org/abs/2505.00001">the paper</a>'
    '<div style="background:url(javascript:alert(8))" onclick="alert(9)">x</div></p>'
)


def feed(title: str, base: str) -> str:
    from xml.sax.saxutils import escape

    return f"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>{title}</title><link>{base}/</link>
<item><title>A post about diffusion</title><link>{base}/post-1</link><guid>{base}/1</guid>
<description>We discuss https://arxiv.org/abs/2505.00001 and denoising samplers.</description>
<pubDate>Mon, 05 May 2025 10:00:00 GMT</pubDate></item>
<item><title>{escape(HOSTILE_TITLE)}</title><link>{base}/post-2</link><guid>{base}/2</guid>
<description>{escape(HOSTILE_BODY)}</description>
<pubDate>Tue, 06 May 2025 10:00:00 GMT</pubDate></item>
</channel></rss>"""


def all_routes(app: FastAPI) -> list[APIRoute]:
    """Every API route the app serves: its own and those of the routers it includes
    (newer FastAPI keeps an included router as one entry that wraps the original)."""
    found: list[APIRoute] = []

    def walk(routes: list[Any]) -> None:
        for r in routes:
            if isinstance(r, APIRoute):
                found.append(r)
            elif hasattr(r, "original_router"):
                walk(list(r.original_router.routes))

    walk(list(app.routes))
    return found


CSRF = re.compile(r'<meta name="csrf-token" content="([^"]*)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF meta tag"
    return found.group(1)


@dataclass
class Harness:
    core: RadarCore
    app: FastAPI
    server: FeedServer

    def client(self, **kw: Any) -> TestClient:
        return TestClient(self.app, follow_redirects=False, **kw)

    def login(self, name: str, password: str = PASSWORD, **kw: Any) -> TestClient:
        """A client with a session for ``name``, logged in through the form."""
        c = self.client(**kw)
        page = c.get("/login")
        response = c.post(
            "/login", data={"name": name, "password": password, "csrf": csrf_of(page.text)}
        )
        assert response.status_code == 303, response.text
        return c

    def csrf(self, client: TestClient, path: str = "/settings") -> str:
        return csrf_of(client.get(path).text)

    def token(self, name: str) -> str:
        return self.core.for_user(name).create_api_token("tests").token

    def bearer(self, name: str) -> TestClient:
        return self.client(headers={"Authorization": f"Bearer {self.token(name)}"})


def offline(settings: Any, policies: Any) -> Any:
    """An HTTP client for the core that answers every request itself, 404: nothing leaves
    the machine, whatever a test (or a generated request) makes the radar fetch."""
    import httpx

    from mlradar._fetch import Fetcher

    transport = httpx.MockTransport(lambda request: httpx.Response(404, text="offline"))
    return Fetcher(settings, policies=policies, transport=transport)


def make_user(core: RadarCore, name: str, feed_url: str | None = None) -> None:
    core.add_user(name)
    core.accounts.set_password(name, PASSWORD)
    if feed_url is not None:
        core.for_user(name).add_source(feed_url, name=f"{name}'s blog", tags=["blogs"])


def build(db_url: str, server: FeedServer, users: tuple[str, ...] = ("alice", "bob")) -> None:
    """Fill a new radar: the papers, one feed per user (followed under a private name),
    fetched once, and the ranking index."""
    feed_urls = [
        server.add(f"/{u}.xml", feed(f"Blog {n}", server.base)) for n, u in enumerate(users)
    ]
    with open_core(db_url) as core:
        store_papers(core._storage, make_papers())
        for name, url in zip(users, feed_urls, strict=True):
            make_user(core, name, url)
        core.update()
        core.sync_rank_index()


def open_core(db_url: str, fetcher_factory: Any = None, **settings: Any) -> RadarCore:
    """The tests' core; ``settings`` override (an SMTP server on loopback, say)."""
    chosen: dict[str, Any] = {
        "allow_private_networks": True,
        "allow_signup": True,
        "embedding_model": "none-installed-model-xyz",
    }
    return RadarCore.open(db_url, fetcher_factory=fetcher_factory, **{**chosen, **settings})


@contextmanager
def harness(
    db_url: str,
    server: FeedServer,
    *,
    local_user: str | None = None,
    fetcher_factory: Any = None,
    **settings: Any,
) -> Iterator[Harness]:
    core = open_core(db_url, fetcher_factory, **settings)
    try:
        yield Harness(core, create_app(core, WebSettings(local_user=local_user)), server)
    finally:
        core.close()
