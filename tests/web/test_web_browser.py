"""End to end in Debian's chromium, driven by Playwright (never a downloaded browser):
sign up, log in, tag a paper with the keyboard and see "for you" change, dismiss, open a
paper and a story, add a source, hostile feed HTML executing nothing, and a screenshot
of every page in light and dark mode under ``test-artifacts/``."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.feedserver import FeedServer
from tests.web.support import PASSWORD, harness

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = pytest.mark.slow


def _require_browser() -> None:
    missing = None
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} is missing (apt-get install -y chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "playwright (Python) is not installed"
    if missing is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(missing + " (it must be present under CI)")
    pytest.skip(missing)


@pytest.fixture
def live(web_db: str, feed_server: FeedServer) -> Iterator[tuple[str, FeedServer]]:
    """The app served by uvicorn on a free loopback port, in a thread."""
    _require_browser()
    import uvicorn

    with harness(web_db, feed_server) as h:
        config = uvicorn.Config(h.app, host="127.0.0.1", port=0, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        assert server.started, "uvicorn did not start"
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield f"http://127.0.0.1:{port}", feed_server
        finally:
            server.should_exit = True
            thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Any]:
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            yield b
        finally:
            b.close()


class Watch:
    """Dialogs, console errors and page errors: hostile content must cause none."""

    def __init__(self, page: Any) -> None:
        self.events: list[str] = []
        page.on("dialog", lambda d: (self.events.append(f"dialog: {d.message}"), d.dismiss()))
        page.on(
            "console",
            lambda m: (
                self.events.append(f"console {m.type}: {m.text}") if m.type == "error" else None
            ),
        )
        page.on("pageerror", lambda e: self.events.append(f"pageerror: {e}"))


def _shoot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{scheme}.png"), full_page=True)
    page.emulate_media(color_scheme="light")


def test_a_new_user_reads_tags_dismisses_and_adds_a_source(
    live: tuple[str, FeedServer], browser: Any
) -> None:
    base, feeds = live
    page = browser.new_page(viewport={"width": 420, "height": 900})  # a phone
    watch = Watch(page)
    page.goto(base + "/")
    assert page.url.startswith(base + "/login")
    _shoot(page, "login")
    page.goto(base + "/signup")
    _shoot(page, "signup")
    page.fill("input[name=name]", "carol")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    assert "tag or like a few papers first" in page.content()
    page.click("button:has-text('Log out')")
    page.wait_for_url(re.compile(r".*/login"))
    page.fill("input[name=name]", "carol")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")

    # Add a source (the feed Alice follows too: shared, fetched once).
    page.goto(base + "/sources")
    page.fill("input[name=url]", feeds.url("/alice.xml"))
    page.fill("input[name=name]", "the blog")
    page.click("form.add-source button")
    page.wait_for_url(re.compile(r".*/sources\?notice="))
    assert "added the blog" in page.content()
    _shoot(page, "sources")

    # Tag a paper with the keyboard: / to search, j to select, s to tag, Enter to save.
    page.keyboard.press("/")
    page.keyboard.type("denoising")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/search\?q=denoising"))
    page.keyboard.press("j")
    page.keyboard.press("s")
    page.keyboard.type("gen")
    page.keyboard.press("Enter")
    page.wait_for_selector(".row.selected .chip:has-text('gen')")
    assert page.url.startswith(base + "/search")  # in place, no reload
    _shoot(page, "search")

    page.goto(base + "/")
    reasons = page.locator(".row .reason")
    assert reasons.count() >= 3, page.content()
    assert "tag or like" not in page.content()
    _shoot(page, "queue-foryou")

    # Dismiss the first with x: it fades in place, and is gone on reload.
    page.keyboard.press("j")
    first = page.locator(".row").first.get_attribute("data-href")
    page.keyboard.press("x")
    page.wait_for_selector(".row.dismissed")
    page.reload()
    assert page.locator(f'.row[data-href="{first}"]').count() == 0

    # Open a paper with o.
    page.keyboard.press("j")
    page.keyboard.press("o")
    page.wait_for_url(re.compile(r".*/paper/"))
    assert page.locator("h2:has-text('Abstract')").count() == 1
    page.wait_for_selector(".related-list a")  # fetched in place
    _shoot(page, "paper")

    page.keyboard.press("?")
    assert page.locator("#keys").is_visible()
    page.keyboard.press("?")

    # A story page: an item of the new source.
    page.goto(base + "/?tab=new")
    _shoot(page, "queue-new")
    page.click("text=A post about diffusion")
    page.wait_for_url(re.compile(r".*/item/\d+"))
    assert "/paper/2505.00001" in page.content()  # the paper it names
    _shoot(page, "item")
    for name, path in (
        ("queue-discussed", "/?tab=discussed"),
        ("catalog", "/catalog?level=beginner"),
        ("path", "/path"),
        ("settings", "/settings"),
        ("docs", "/docs"),
    ):
        page.goto(base + path)
        _shoot(page, name)
    assert page.locator(".swagger-ui").count() >= 1  # the vendored docs page works
    assert watch.events == [], watch.events


def test_hostile_feed_entries_execute_nothing(live: tuple[str, FeedServer], browser: Any) -> None:
    base, _feeds = live
    page = browser.new_page()
    watch = Watch(page)
    page.goto(base + "/login")
    page.fill("input[name=name]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    page.goto(base + "/?tab=new")
    page.click("text=Hostile")
    page.wait_for_url(re.compile(r".*/item/\d+"))
    _shoot(page, "item-hostile")
    page.mouse.click(10, 10)
    for selector in ("a:has-text('click')", ".content div"):
        if page.locator(selector).count():
            page.locator(selector).first.click(no_wait_after=True)
    page.goto(base + "/search?q=hostile")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned === undefined")
    assert watch.events == [], watch.events


def test_digests_and_settings_pages_in_the_browser(
    live: tuple[str, FeedServer], browser: Any
) -> None:
    """Make a digest, read it, make a feed token and save the schedule, with nothing
    the CSP refuses (a console error) on the way; screenshots of both pages."""
    base, _feeds = live
    page = browser.new_page(viewport={"width": 420, "height": 900})
    watch = Watch(page)
    page.goto(base + "/login")
    page.fill("input[name=name]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    page.click("nav a:has-text('Digests')")
    page.wait_for_url(base + "/digests")
    assert "No digests yet" in page.content()
    page.fill("input[name=since]", "3000d")
    page.click("form.make-digest button")
    page.wait_for_url(re.compile(r".*/digests/\d+\?notice="))
    assert page.locator(".digest-section").count() == 4
    _shoot(page, "digest")
    page.goto(base + "/digests")
    assert page.locator("table.digests tbody tr a").count() == 1
    _shoot(page, "digests")

    page.goto(base + "/settings")
    page.fill("input[name=label]", "my reader")
    page.click("form.feed-token-form button")
    page.wait_for_selector(".new-feed-token .feed-urls li")
    assert "/feeds/mlrf_" in page.locator(".new-feed-token").inner_text()
    page.select_option("select[name=cadence]", "weekly")
    page.select_option("select[name=weekday]", "4")
    page.fill("input[name=email]", "alice@example.org")
    page.click("form.schedule-form button")
    page.wait_for_url(re.compile(r".*/settings\?notice="))
    assert "saved the digest schedule" in page.content()
    _shoot(page, "settings-feeds-digest")
    assert watch.events == [], watch.events
