"""Every API route in-process: the CLI's JSON shapes, one pagination shape, problem
details for bad input (4xx, never 5xx), tokens and sessions as credentials."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.web.support import Harness, all_routes, csrf_of


def api_routes(web: Harness) -> set[tuple[str, str]]:
    return {
        (method, r.path)
        for r in all_routes(web.app)
        if r.path.startswith("/api/v1")
        for method in r.methods
    }


def is_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and "detail" in body
    return body


def test_no_credentials_is_a_401_problem(web: Harness) -> None:
    c = web.client()
    for method, path in sorted(api_routes(web)):
        url = path.replace("{item_id}", "1").replace("{token_id}", "1").replace("{tab}", "new")
        url = url.replace("{ref:path}", "x").replace("{slug}", "x").replace("{digest_id}", "1")
        url = url.replace("{view}", "new").replace("{arg:path}", "x")
        response = c.request(method, url, json={} if method in ("POST", "PATCH") else None)
        assert response.status_code in (401, 403), (method, path, response.text)
    is_problem(c.get("/api/v1/items"), 401)
    is_problem(c.get("/api/v1/items", headers={"Authorization": "Bearer mlr_nope"}), 401)
    is_problem(c.get("/api/v1/items", headers={"Authorization": "Basic abc"}), 401)


def test_me_items_and_pagination(web: Harness) -> None:
    c = web.bearer("alice")
    assert c.get("/api/v1/me").json()["user"]["name"] == "alice"
    first = c.get("/api/v1/items", params={"limit": 1}).json()
    assert set(first) == {"items", "limit", "next"} and first["limit"] == 1
    (row,) = first["items"]
    # The CLI's --json shape of an Item: its fields.
    assert {"id", "source_id", "source_name", "title", "arxiv_ids", "summary_html"} <= set(row)
    assert row["source_name"] == "alice's blog"
    second = c.get("/api/v1/items", params={"limit": 1, "cursor": first["next"]}).json()
    assert second["items"][0]["id"] != row["id"] and second["next"] is None
    is_problem(c.get("/api/v1/items", params={"cursor": "garbage!"}), 400)
    is_problem(c.get("/api/v1/items", params={"limit": 0}), 422)
    is_problem(c.get("/api/v1/items", params={"limit": 10_000}), 422)
    is_problem(c.get("/api/v1/items", params={"since": "yesterday-ish"}), 400)
    is_problem(c.get("/api/v1/items", params={"source": "nope"}), 404)
    assert c.get("/api/v1/items", params={"since": "2025-05-06"}).json()["items"]
    one = c.get(f"/api/v1/items/{row['id']}").json()
    assert one["id"] == row["id"]
    is_problem(c.get("/api/v1/items/999999"), 404)
    is_problem(c.get("/api/v1/items/abc"), 422)


def test_search_with_the_cli_filters(web: Harness) -> None:
    c = web.bearer("alice")
    page = c.get("/api/v1/search", params={"q": "diffusion", "limit": 3}).json()
    assert page["items"] and {"kind", "ref", "title", "snippet", "score"} <= set(page["items"][0])
    more = c.get("/api/v1/search", params={"q": "diffusion", "limit": 3, "cursor": page["next"]})
    assert more.status_code == 200
    only = c.get("/api/v1/search", params={"q": "diffusion", "source": "alice's blog"}).json()
    assert {h["kind"] for h in only["items"]} == {"item"}
    dated = c.get("/api/v1/search", params={"q": "diffusion", "since": "7d"}).json()
    assert dated["items"] == []  # the posts are from 2025
    assert c.get("/api/v1/search", params={"q": "diffusion", "exhaustive": "true"}).json()["items"]
    is_problem(c.get("/api/v1/search", params={"q": "   "}), 400)
    is_problem(c.get("/api/v1/search"), 422)


def test_actions_tags_library_and_for_you(web: Harness) -> None:
    c = web.bearer("alice")
    before = c.get("/api/v1/queue/foryou").json()
    assert before["page"]["items"] == [] and "tag or like" in before["message"]
    is_problem(c.get("/api/v1/recommend"), 400)
    done = c.post(
        "/api/v1/actions",
        json={"action": "tag", "ids": ["2505.00001", "2505.00004"], "tag": "gen"},
    ).json()
    assert done == {
        "action": "tag",
        "ids": ["2505.00001", "2505.00004"],
        "tag": "gen",
        "changed": 2,
    }
    assert c.get("/api/v1/tags").json()["items"] == [{"tag": "gen", "count": 2}]
    library = c.get("/api/v1/library", params={"tag": "gen"}).json()["items"]
    assert [e["ref"] for e in library] == ["2505.00001", "2505.00004"]
    after = c.get("/api/v1/queue/foryou").json()
    rows = after["page"]["items"]
    assert rows and all(r["reason"] for r in rows) and after["window"]
    recs = c.get("/api/v1/recommend", params={"limit": 2}).json()
    assert len(recs["items"]) == 2 and recs["next"]
    assert {"arxiv_id", "score", "reason", "contributions"} <= set(recs["items"][0])
    windowed = c.get("/api/v1/recommend", params={"since": "2025-05-01", "until": "2025-05-04"})
    assert windowed.status_code == 200
    is_problem(c.get("/api/v1/recommend", params={"since": "2025-13-45"}), 400)
    is_problem(c.get("/api/v1/recommend", params={"since": "tomorrow"}), 422)
    dismissed = rows[0]["ref"]
    c.post("/api/v1/actions", json={"action": "dismiss", "ids": [dismissed]})
    refs = [r["ref"] for r in c.get("/api/v1/queue/foryou").json()["page"]["items"]]
    assert dismissed not in refs
    for action in ("like", "clear", "read", "unread"):
        assert c.post("/api/v1/actions", json={"action": action, "ids": ["2505.00007"]}).is_success
    c.post("/api/v1/actions", json={"action": "untag", "ids": ["2505.00004"], "tag": "gen"})
    assert c.get("/api/v1/tags").json()["items"] == [{"tag": "gen", "count": 1}]
    is_problem(c.post("/api/v1/actions", json={"action": "tag", "ids": ["2505.00001"]}), 400)
    is_problem(c.post("/api/v1/actions", json={"action": "explode", "ids": ["1"]}), 422)
    is_problem(c.post("/api/v1/actions", json={"action": "like", "ids": []}), 422)
    is_problem(
        c.post(
            "/api/v1/actions", content=b"{not json", headers={"content-type": "application/json"}
        ),
        422,
    )
    for tab in ("new", "discussed"):
        assert c.get(f"/api/v1/queue/{tab}").status_code == 200
    is_problem(c.get("/api/v1/queue/sideways"), 422)


def test_paper_related_bibtex_and_stats(web: Harness) -> None:
    c = web.bearer("alice")
    detail = c.get("/api/v1/papers/arXiv:2505.00001v2").json()
    assert detail["arxiv_id"] == "2505.00001" and detail["paper"]["title"]
    assert {i["source_name"] for i in detail["items"]} == {"alice's blog"}
    is_problem(c.get("/api/v1/papers/2505.99999"), 404)
    is_problem(c.get("/api/v1/papers/2599.99999"), 400)  # month 99
    related = c.get("/api/v1/related/2505.00001", params={"limit": 3}).json()
    assert len(related["items"]) == 3 and related["next"] is None
    bib = c.get("/api/v1/bibtex", params={"ids": ["2505.00001"]})
    assert bib.status_code == 200 and bib.text.startswith("@")
    is_problem(c.get("/api/v1/bibtex"), 400)
    is_problem(c.get("/api/v1/bibtex", params={"tag": "none-such"}), 404)
    stats = c.get("/api/v1/stats").json()
    assert stats["sources"] == 1 and stats["papers"] == 36


def test_sources_add_remove_opml_and_update(web: Harness) -> None:
    c = web.bearer("alice")
    (mine,) = c.get("/api/v1/sources").json()["items"]
    assert mine["name"] == "alice's blog" and mine["state"]["last_status"] == 200
    url = web.server.add("/third.xml", (web.server.routes["/bob.xml"].body))
    added = c.post("/api/v1/sources", json={"url": url, "name": "third", "tags": ["x"]})
    assert added.status_code == 201 and added.json()["tags"] == ["x"]
    is_problem(c.post("/api/v1/sources", json={"url": url}), 409)
    is_problem(c.post("/api/v1/sources", json={"url": "not a url at all"}), 400)
    is_problem(c.post("/api/v1/sources", json={"url": ""}), 422)
    down = web.server.add("/down.xml", b"", status=500)
    is_problem(c.post("/api/v1/sources", json={"url": down}), 422)
    is_problem(c.post("/api/v1/sources", json={"url": "file:///etc/passwd"}), 400)
    assert c.get(f"/api/v1/sources/{added.json()['id']}").json()["name"] == "third"
    assert c.get("/api/v1/sources/third").json()["id"] == added.json()["id"]
    summary = c.post("/api/v1/update", params={"force": "true"}).json()
    assert summary["failed"] == 0 and len(summary["sources"]) == 2
    from mlradar._worker import runner_lock

    with runner_lock(web.core) as held:  # a worker's update is running
        assert held
        is_problem(c.post("/api/v1/update", params={"force": "true"}), 409)
    opml = c.get("/api/v1/sources/opml")
    assert opml.status_code == 200 and b"<opml" in opml.content and b"third" in opml.content
    assert c.delete("/api/v1/sources/third").json()["name"] == "third"
    is_problem(c.delete("/api/v1/sources/third"), 404)
    imported = c.post(
        "/api/v1/sources/opml", content=opml.content, headers={"content-type": "text/x-opml"}
    ).json()
    assert imported["feeds"] == 2 and imported["added"] == 1
    is_problem(
        c.post("/api/v1/sources/opml", content=b"<not-opml", headers={"content-type": "text/xml"}),
        422,
    )


def test_catalog_and_path(web: Harness) -> None:
    c = web.bearer("alice")
    page = c.get("/api/v1/catalog", params={"level": "beginner", "limit": 5}).json()
    assert len(page["items"]) == 5 and page["next"]
    is_problem(c.get("/api/v1/catalog", params={"level": "wizard"}), 400)
    path = c.get("/api/v1/path").json()
    slug = path["steps"][0]["slug"]
    assert c.post(f"/api/v1/path/{slug}/done").json()["slug"] == slug
    assert c.get("/api/v1/path").json()["steps"][0]["done"] is True
    c.delete(f"/api/v1/path/{slug}/done")
    assert c.get("/api/v1/path").json()["steps"][0]["done"] is False
    is_problem(c.post("/api/v1/path/no-such-slug/done"), 404)
    # Following a profile stores its feeds; nothing is fetched until an update.
    followed = c.post("/api/v1/profile", json={"profile": "news"}).json()
    assert followed["profile"] == "news" and followed["subscribed"]
    is_problem(c.post("/api/v1/profile", json={"profile": "wizard"}), 422)


def test_tokens_are_shown_once_hashed_and_revocable(web: Harness) -> None:
    c = web.bearer("alice")
    made = c.post("/api/v1/tokens", json={"name": "script"})
    assert made.status_code == 201
    secret, record = made.json()["token"], made.json()["record"]
    assert secret.startswith("mlr_")
    listed = c.get("/api/v1/tokens").json()["items"]
    assert secret not in str(listed) and record["id"] in [t["id"] for t in listed]
    stored = web.core._storage.api_tokens(web.core.user("alice").id)
    assert all(secret not in str(t) for t in stored)
    script = web.client(headers={"Authorization": f"Bearer {secret}"})
    assert script.get("/api/v1/me").json()["via"] == "token"
    assert c.delete(f"/api/v1/tokens/{record['id']}").status_code == 204
    is_problem(script.get("/api/v1/me"), 401)
    is_problem(c.delete(f"/api/v1/tokens/{record['id']}"), 404)
    is_problem(c.post("/api/v1/tokens", json={"name": ""}), 422)


def test_a_session_needs_the_csrf_header_for_unsafe_methods(web: Harness) -> None:
    c = web.login("alice")
    body = {"action": "like", "ids": ["2505.00001"]}
    is_problem(c.post("/api/v1/actions", json=body), 403)
    is_problem(c.post("/api/v1/actions", json=body, headers={"X-CSRF-Token": "forged"}), 403)
    token = csrf_of(c.get("/").text)
    assert c.post("/api/v1/actions", json=body, headers={"X-CSRF-Token": token}).is_success
    assert c.get("/api/v1/me").json()["via"] == "session"


def test_openapi_and_docs_are_served_without_a_cdn(web: Harness) -> None:
    c = web.client()
    spec = c.get("/openapi.json").json()
    assert {p for p in spec["paths"] if p.startswith("/api/v1")} == {
        re.sub(r"\{(\w+):path\}", r"{\1}", path) for _m, path in api_routes(web)
    }
    docs = c.get("/docs")
    assert docs.status_code == 200 and "http" not in docs.text.split("<body>")[0].replace(
        'content="width', ""
    )
    assert c.get("/docs-assets/swagger-ui-bundle.js").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "kw"),
    [
        ("GET", "/api/v1/items/-1", {}),
        ("GET", "/api/v1/items/99999999999999999999999", {}),
        ("GET", "/api/v1/search?q=" + "x" * 2000, {}),
        ("GET", "/api/v1/search?q=%00%ff", {}),
        ("GET", "/api/v1/papers/" + "%2e%2e/" * 10, {}),
        ("POST", "/api/v1/sources", {"json": {"url": "x" * 3000}}),
        ("POST", "/api/v1/sources", {"json": ["a list"]}),
        ("DELETE", "/api/v1/tokens/0", {}),
        ("POST", "/api/v1/path/%00/done", {}),
        ("GET", "/api/v1/digests/0", {}),
        ("POST", "/api/v1/digests", {"json": {"since": "%00" * 30}}),
        ("POST", "/api/v1/digests", {"json": "not an object"}),
        ("PUT", "/api/v1/digest-schedule", {"json": {"cadence": "weekly", "hour": 24}}),
        ("GET", "/api/v1/feeds/search/%00%ff", {}),
        ("GET", "/api/v1/feeds/tag/" + "x" * 600, {}),
        ("GET", "/api/v1/feeds/source/%2e%2e/%2e%2e", {}),
        ("GET", "/api/v1/feeds/digest/99999999999999999999999", {}),
        ("GET", "/api/v1/feeds/source/99999999999999999999999", {}),
        ("GET", "/api/v1/sources/99999999999999999999999", {}),
        ("GET", "/feeds/%00/new", {}),
        ("GET", "/feeds/" + "x" * 300 + "/new", {}),
        (
            "POST",
            "/api/v1/feed-tokens",
            {
                "content": b'{"view": "tag", "arg": "\\ud800"}',
                "headers": {"content-type": "application/json"},
            },
        ),
        ("DELETE", "/api/v1/feed-tokens/0", {}),
    ],
)
def test_hostile_input_is_a_4xx(web: Harness, method: str, path: str, kw: dict[str, Any]) -> None:
    response = web.bearer("alice").request(method, path, **kw)
    assert 400 <= response.status_code < 500, response.text
