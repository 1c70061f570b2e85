"""Atom feeds out over HTTP: every view at a private token URL and for the signed-in
user, each parsing with feedparser without bozo; ETag and 304; the same 404 for an
unknown, revoked or out-of-scope token; feed tokens from the settings page and the API,
shown once; and each user's token reading only that user's data."""

from __future__ import annotations

from typing import Any

import feedparser

from mlradar.types import FeedView
from tests.web.support import Harness
from tests.web.test_web_api import is_problem


def parsed(response: Any) -> Any:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    return feed


def views(web: Harness, user: str) -> list[str]:
    """Every kind ``parse_view`` knows, with an argument where it takes one."""
    radar = web.core.for_user(user)
    source = radar.sources()[0].id
    digest = radar.save_digest(radar.digest()).id
    return [
        "new",
        "for-you",
        "discussed",
        "tag/secret-tag",
        "search/diffusion",
        f"source/{source}",
        "digest",
        f"digest/{digest}",
        "search/denoising%20samplers",  # the argument is percent-encoded in the URL
    ]


def test_every_view_is_a_clean_atom_feed_by_token_and_for_the_signed_in_user(
    web: Harness,
) -> None:
    alice = web.core.for_user("alice")
    alice.tag("secret-tag", ["2505.00001", "2505.00002"])
    secret = alice.create_feed_token().secret
    anonymous = web.client()
    session = web.login("alice")
    for view in views(web, "alice"):
        by_token = parsed(anonymous.get(f"/feeds/{secret}/{view}"))
        assert "set-cookie" not in {
            k.lower() for k in anonymous.get(f"/feeds/{secret}/new").headers
        }
        # The rel=self link is the address the reader polls (token included).
        selfs = [link.href for link in by_token.feed.links if link.rel == "self"]
        assert selfs == [f"http://testserver/feeds/{secret}/{view}"], selfs
        mine = parsed(session.get(f"/api/v1/feeds/{view}"))
        assert [e.id for e in mine.entries] == [e.id for e in by_token.entries], view
    tagged = parsed(anonymous.get(f"/feeds/{secret}/tag/secret-tag"))
    assert {e.link for e in tagged.entries} >= {"https://arxiv.org/abs/2505.00001"}
    hostile = parsed(anonymous.get(f"/feeds/{secret}/new"))
    assert any("Hostile" in e.title for e in hostile.entries)
    assert all(
        "<script" not in (e.get("content") or [{}])[0].get("value", "") for e in hostile.entries
    )


def test_an_unchanged_feed_is_a_304(web: Harness) -> None:
    secret = web.core.for_user("alice").create_feed_token().secret
    c = web.client()
    first = c.get(f"/feeds/{secret}/new")
    tag = first.headers["etag"]
    assert tag.startswith('"') and "private" in first.headers["cache-control"]
    again = c.get(f"/feeds/{secret}/new", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
    assert c.get(f"/feeds/{secret}/new", headers={"If-None-Match": '"other"'}).status_code == 200
    api = web.bearer("alice")
    mine = api.get("/api/v1/feeds/new").headers["etag"]
    same = api.get("/api/v1/feeds/new", headers={"If-None-Match": f'"x", W/{mine}'})
    assert same.status_code == 304


def test_unknown_revoked_and_out_of_scope_tokens_are_one_404(web: Harness) -> None:
    alice = web.core.for_user("alice")
    revoked = alice.create_feed_token()
    alice.revoke_feed_token(revoked.token.id)
    scoped = alice.create_feed_token(FeedView("discussed")).secret
    c = web.client()
    answers = [
        c.get("/feeds/mlrf_not-a-token/new"),
        c.get(f"/feeds/{revoked.secret}/new"),
        c.get(f"/feeds/{scoped}/new"),
    ]
    details = {is_problem(r, 404)["detail"] for r in answers}
    assert details == {"no such feed"}
    parsed(c.get(f"/feeds/{scoped}/discussed"))
    # A malformed view is bad input whatever the token: nothing about the token shows.
    for token in ("mlrf_nope", scoped):
        is_problem(c.get(f"/feeds/{token}/everything"), 400)
        is_problem(c.get(f"/feeds/{token}/tag"), 400)
        is_problem(c.get(f"/feeds/{token}/digest/abc"), 400)
    is_problem(c.get("/api/v1/feeds/new"), 401)


def test_feed_tokens_in_the_settings_page_shown_once_and_revocable(web: Harness) -> None:
    web.core.for_user("alice").tag("secret-tag", ["2505.00001"])
    c = web.login("alice")
    csrf = web.csrf(c)
    assert c.post("/settings/feed-tokens", data={"label": "reader"}).status_code == 403
    made = c.post("/settings/feed-tokens", data={"label": "my reader", "csrf": csrf})
    assert made.status_code == 200 and "shown this once" in made.text
    secret = made.text.split('shown this once: <code class="token">')[1].split("<")[0]
    assert secret.startswith("mlrf_")
    for path in ("new", "for-you", "discussed", "digest", "tag/secret-tag", "search/your%20words"):
        assert f"http://testserver/feeds/{secret}/{path}</code>" in made.text, path
    assert "source/" in made.text
    listed = c.get("/settings")
    assert secret not in listed.text and "my reader" in listed.text and "active" in listed.text
    scoped = c.post(
        "/settings/feed-tokens", data={"view": "tag", "arg": "secret-tag", "csrf": csrf}
    )
    assert scoped.text.count("/feeds/mlrf_") == 1 and "tag:secret-tag" in scoped.text
    bad = c.post("/settings/feed-tokens", data={"view": "tag", "csrf": csrf})
    assert bad.status_code == 400 and "needs an argument" in bad.text
    (token,) = [t for t in web.core.for_user("alice").feed_tokens() if t.label == "my reader"]
    gone = c.post("/settings/feed-tokens/revoke", data={"token_id": token.id, "csrf": csrf})
    assert gone.status_code == 303
    assert web.client().get(f"/feeds/{secret}/new").status_code == 404
    assert "revoked" in c.get("/settings").text


def test_feed_token_api_and_two_users(web: Harness) -> None:
    alice, bob = web.bearer("alice"), web.bearer("bob")
    web.core.for_user("alice").tag("secret-tag", ["2505.00001"])
    made = alice.post("/api/v1/feed-tokens", json={"label": "reader"})
    assert made.status_code == 201, made.text
    body = made.json()
    assert set(body) == {"token", "secret", "urls"} and body["token"]["label"] == "reader"
    assert any(u["url"].endswith("/tag/secret-tag") for u in body["urls"])
    listed = alice.get("/api/v1/feed-tokens").json()
    assert set(listed) == {"items", "limit", "next"}
    assert [t["id"] for t in listed["items"]] == [body["token"]["id"]]
    assert "secret" not in listed["items"][0]
    scoped = alice.post("/api/v1/feed-tokens", json={"view": "search", "arg": "diffusion"}).json()
    assert [u["url"] for u in scoped["urls"]] == [
        f"http://testserver/feeds/{scoped['secret']}/search/diffusion"
    ]
    is_problem(alice.post("/api/v1/feed-tokens", json={"view": "tag"}), 400)
    is_problem(alice.post("/api/v1/feed-tokens", json={"arg": "x"}), 400)
    is_problem(alice.post("/api/v1/feed-tokens", json={"view": "all"}), 422)

    # Bob sees none of Alice's tokens, cannot revoke one, and his own token reads his data.
    assert bob.get("/api/v1/feed-tokens").json()["items"] == []
    is_problem(bob.delete(f"/api/v1/feed-tokens/{body['token']['id']}"), 404)
    bob_secret = bob.post("/api/v1/feed-tokens", json={}).json()["secret"]
    c = web.client()
    assert parsed(c.get(f"/feeds/{bob_secret}/tag/secret-tag")).entries == []
    hers = parsed(c.get(f"/feeds/{body['secret']}/tag/secret-tag")).entries
    assert [e.link for e in hers] == ["https://arxiv.org/abs/2505.00001"]
    her_digest = web.core.for_user("alice").save_digest(web.core.for_user("alice").digest()).id
    is_problem(c.get(f"/feeds/{bob_secret}/digest/{her_digest}"), 404)
    is_problem(bob.get(f"/api/v1/feeds/digest/{her_digest}"), 404)
    her_source = web.core.for_user("alice").sources()[0].id
    is_problem(c.get(f"/feeds/{bob_secret}/source/{her_source}"), 404)
    # Alice's token still opens her feeds; revoking it closes them.
    assert alice.delete(f"/api/v1/feed-tokens/{body['token']['id']}").status_code == 204
    is_problem(c.get(f"/feeds/{body['secret']}/new"), 404)
