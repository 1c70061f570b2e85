"""The pages: each renders for a signed-in user, sends the CSP and friends on every
response, works with JavaScript off (forms, then a redirect back), and shows hostile
feed HTML without anything that could run."""

from __future__ import annotations

import re

from tests.web.support import Harness

PAGES = (
    "/",
    "/?tab=new",
    "/?tab=discussed",
    "/search?q=diffusion",
    "/search?q=diffusion&source=1&since=3000d&exhaustive=true",
    "/paper/2505.00001",
    "/related/2505.00001",
    "/item/1",
    "/item/2",
    "/stories",
    "/stories?sort=discussed&since=3000d",
    "/story/1",
    "/sources",
    "/catalog?level=beginner",
    "/path",
    "/settings",
    "/digests",
    "/docs",
)


def test_every_page_renders_with_the_security_headers(web: Harness) -> None:
    c = web.login("alice")
    for path in (*PAGES, "/login", "/static/app.js", "/openapi.json", "/nope", "/paper/2505.99999"):
        response = c.get(path, headers={"accept": "text/html"})
        assert response.status_code in (200, 404), (path, response.status_code, response.text)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src")[0]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        if response.headers["content-type"].startswith("text/html"):
            # No inline script and nothing from another origin: every script is our file.
            scripts = re.findall(r"<script([^>]*)>(.*?)</script>", response.text, re.S)
            assert all(body.strip() == "" and 'src="/' in attrs for attrs, body in scripts), path
            assert not re.search(r'(src|href)="(https?:)?//[^"]*\.(js|css)"', response.text)
    assert c.get("/paper/2505.99999", headers={"accept": "text/html"}).status_code == 404


def test_head_answers_as_get_without_a_body(web: Harness) -> None:
    c = web.login("alice")
    for path in ("/", "/sources", "/api/v1/me", "/static/app.js"):
        got, head = c.get(path), c.head(path)
        assert head.status_code == got.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
        assert "content-security-policy" in head.headers
    assert c.head("/paper/2505.99999").status_code == 404
    assert web.client().head("/api/v1/me").status_code == 401  # the same authentication


def test_the_queue_shows_papers_items_and_reasons(web: Harness) -> None:
    c = web.login("alice")
    new = c.get("/?tab=new").text
    assert "A post about diffusion" in new and "alice&#39;s blog" in new
    empty = c.get("/").text
    assert "tag or like a few papers first" in empty
    token = web.csrf(c)
    done = c.post(
        "/act",
        data={"action": "tag", "ids": "2505.00001", "tag": "gen", "csrf": token, "next": "/"},
    )
    assert done.status_code == 303 and done.headers["location"] == "/"
    ranked = c.get("/").text
    assert ranked.count('class="reason"') >= 5 and "Why:" in ranked
    paper = c.get("/paper/2505.00001").text
    for part in ("Abstract", "arxiv.org/abs/2505.00001", "arxiv.org/pdf/2505.00001", "BibTeX"):
        assert part in paper
    assert "A post about diffusion" in paper  # a mention
    assert "/related/2505.00001" in paper  # loaded apart: ranking the corpus takes time
    related = c.get("/related/2505.00001").text
    assert related.count('class="reason"') >= 5
    assert c.get("/bibtex/2505.00001").text.startswith("@")


def test_actions_work_without_javascript_and_with_fetch(web: Harness) -> None:
    c = web.login("alice")
    token = web.csrf(c)
    back = c.post(
        "/act",
        data={"action": "dismiss", "ids": "2505.00002", "csrf": token, "next": "//evil.example"},
    )
    assert back.status_code == 303 and back.headers["location"] == "/"
    as_fetch = c.post(
        "/act",
        data={"action": "like", "ids": "2505.00003"},
        headers={"accept": "application/json", "x-csrf-token": token},
    )
    assert as_fetch.json()["action"] == "like"
    reactions = {e.ref: e.reaction for e in web.core.for_user("alice").library()}
    assert reactions == {"2505.00002": "dismiss", "2505.00003": "like"}


def test_sources_page_adds_imports_and_exports(web: Harness) -> None:
    c = web.login("alice")
    token = web.csrf(c)
    page = c.get("/sources").text
    assert "alice&#39;s blog" in page and "200" in page
    url = web.server.add("/page-added.xml", web.server.routes["/bob.xml"].body)
    added = c.post(
        "/sources/add", data={"url": url, "name": "added", "tags": "a, b", "csrf": token}
    )
    assert added.status_code == 303 and "added" in c.get(added.headers["location"]).text
    again = c.post("/sources/add", data={"url": url, "csrf": token})
    assert again.status_code == 400 and "already subscribed" in again.text
    opml = c.get("/sources/export.opml")
    assert b"page-added.xml" in opml.content
    imported = c.post(
        "/sources/import",
        data={"csrf": token},
        files={"file": ("feeds.opml", opml.content, "text/x-opml")},
    )
    assert imported.status_code == 303
    assert "imported" in c.get(imported.headers["location"]).text
    broken = c.post(
        "/sources/import", data={"csrf": token}, files={"file": ("x.opml", b"<nope", "text/xml")}
    )
    assert broken.status_code == 400
    updated = c.post("/sources/update", data={"csrf": token})
    assert "updated: " in c.get(updated.headers["location"]).text
    # While a runner (mlradar worker, serve's) updates, "update now" waits its turn.
    from mlradar._worker import runner_lock

    with runner_lock(web.core) as held:
        assert held
        busy = c.post("/sources/update", data={"csrf": token})
        assert busy.status_code == 303
        assert "an update is running now" in c.get(busy.headers["location"]).text
    # Last: the profile's feeds are real sites, and nothing here fetches them.
    followed = c.post("/sources/profile", data={"profile": "news", "csrf": token})
    assert "of the news profile" in c.get(followed.headers["location"]).text
    (mine,) = [s for s in web.core.for_user("alice").sources() if s.name == "added"]
    assert c.post("/sources/remove", data={"ref": str(mine.id), "csrf": token}).status_code == 303


def test_path_and_settings_pages(web: Harness) -> None:
    c = web.login("alice")
    token = web.csrf(c)
    slug = web.core.for_user("alice").learning_path().steps[0].slug
    c.post("/path/done", data={"slug": slug, "done": "true", "csrf": token})
    assert "1 of" in c.get("/path").text
    made = c.post("/settings/tokens", data={"name": "laptop", "csrf": token}).text
    secret = re.search(r'<code class="token">(mlr_[^<]+)</code>', made)
    assert secret is not None
    assert secret.group(1) not in c.get("/settings").text  # shown once
    (record,) = web.core.for_user("alice").api_tokens()
    c.post("/settings/tokens/revoke", data={"token_id": str(record.id), "csrf": token})
    assert web.core.for_user("alice").api_tokens() == []


def test_hostile_feed_html_is_inert_in_the_page(web: Harness) -> None:
    c = web.login("alice")
    hostile = next(i for i in web.core.for_user("alice").items() if "Hostile" in (i.title or ""))
    for path in (f"/item/{hostile.id}", "/?tab=new", "/search?q=hostile"):
        html = c.get(path).text.lower()
        body = html.split("<main>")[1]
        assert "<script" not in body, path
        assert not re.search(r"<[^>]+\son\w+\s*=", body), path
        assert "javascript:" not in body, path
        assert "<iframe" not in body and "<svg" not in body, path
