"""A story page in Debian's chromium: reached from the stories list, its mentions shown
(hostile titles among them, executing nothing), related papers fetched in place, and
screenshots of both pages in light and dark mode under ``test-artifacts/``."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.feedserver import FeedServer
from tests.web.support import PASSWORD
from tests.web.test_web_browser import Watch, _shoot
from tests.web.test_web_browser import browser as browser  # the fixtures, re-exported
from tests.web.test_web_browser import live as live

pytestmark = pytest.mark.slow


def test_open_a_story_page(live: tuple[str, FeedServer], browser: Any) -> None:
    base, _feeds = live
    page = browser.new_page(viewport={"width": 420, "height": 900})  # a phone
    watch = Watch(page)
    page.goto(base + "/login")
    page.fill("input[name=name]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")

    page.click("header nav a:has-text('Stories')")
    page.wait_for_url(base + "/stories")
    assert page.locator(".row.story").count() >= 1
    _shoot(page, "stories")

    # j selects the first story, o opens it (the same keys as the queue).
    page.keyboard.press("j")
    page.keyboard.press("o")
    page.wait_for_url(re.compile(r".*/story/\d+$"))
    assert page.locator("h2:has-text('Mentions')").count() == 1
    rows = page.locator("table.mentions tbody tr")
    assert rows.count() == 2
    assert "alice's blog" in rows.first.inner_text()
    assert page.locator("a[href='/paper/2505.00001']").count() >= 1
    page.wait_for_selector(".related-list a")  # fetched in place, as on a paper's page
    _shoot(page, "story")

    page.click("table.mentions a:has-text('A post about diffusion')")
    page.wait_for_url(re.compile(r".*/item/\d+$"))
    assert page.locator("a:has-text('its story')").count() == 1
    assert page.evaluate("window.__pwned === undefined")
    assert watch.events == [], watch.events
