"""Two users through every API route: Bob, holding Alice's ids, neither sees nor changes
anything of hers.  The routes are enumerated from the app, so a new route without a case
here fails the test."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from tests.feedserver import FeedServer
from tests.web.support import Harness, all_routes, harness, offline

#: Strings that are Alice's alone: her name, her name for her source, her tag, her token's
#: name, her feed's address.
MARKERS = ("alice", "secret-tag", "/alice.xml")


@dataclass
class Ctx:
    web: Harness
    alice_source: int
    alice_items: list[int]
    alice_token: int
    done_slug: str
    alice_digest: int
    alice_feed_token: int
    shared_story: int = 0
    """A story both follow a feed about: Bob sees it, with his mentions only."""


@dataclass
class Case:
    call: Callable[[TestClient, Ctx], Response]
    ok: tuple[int, ...] = (200,)
    leaks_checked: bool = True


def _own_input(case: Case) -> Case:
    case.leaks_checked = False
    return case


def follow_hers_and_leave(c: TestClient, x: Ctx) -> Response:
    """Following the feed Alice follows is allowed: Bob gets his own subscription (the
    response is his, not hers: checked here), then he leaves it again so that the
    other cases see only his own feed."""
    response = c.post(
        "/api/v1/sources", json={"url": x.web.server.url("/alice.xml"), "name": "mine"}
    )
    body = response.json()
    assert body["name"] == "mine" and body["tags"] == [], body
    assert c.delete(f"/api/v1/sources/{body['id']}").status_code == 200
    return response


CASES: dict[tuple[str, str], Case] = {
    ("GET", "/api/v1/me"): Case(lambda c, x: c.get("/api/v1/me")),
    ("GET", "/api/v1/items"): Case(lambda c, x: c.get("/api/v1/items", params={"limit": 200})),
    ("GET", "/api/v1/items/{item_id}"): Case(
        lambda c, x: c.get(f"/api/v1/items/{x.alice_items[0]}"), ok=(404,)
    ),
    ("GET", "/api/v1/search"): Case(lambda c, x: c.get("/api/v1/search", params={"q": "post"})),
    ("GET", "/api/v1/stories"): Case(lambda c, x: c.get("/api/v1/stories", params={"limit": 200})),
    ("GET", "/api/v1/stories/{story_id}"): Case(
        lambda c, x: c.get(f"/api/v1/stories/{x.shared_story}")
    ),
    ("GET", "/api/v1/queue/{tab}"): Case(lambda c, x: c.get("/api/v1/queue/new")),
    ("GET", "/api/v1/recommend"): Case(lambda c, x: c.get("/api/v1/recommend"), ok=(200, 400)),
    ("GET", "/api/v1/papers/{ref:path}"): Case(lambda c, x: c.get("/api/v1/papers/2505.00001")),
    ("GET", "/api/v1/related/{ref:path}"): Case(lambda c, x: c.get("/api/v1/related/2505.00001")),
    # These two echo the tag Bob sent: 404 and the unchanged snapshot are the checks.
    ("GET", "/api/v1/bibtex"): _own_input(
        Case(lambda c, x: c.get("/api/v1/bibtex", params={"tag": "secret-tag"}), ok=(404,))
    ),
    ("GET", "/api/v1/stats"): Case(lambda c, x: c.get("/api/v1/stats")),
    ("GET", "/api/v1/tags"): Case(lambda c, x: c.get("/api/v1/tags")),
    ("GET", "/api/v1/library"): Case(lambda c, x: c.get("/api/v1/library")),
    ("POST", "/api/v1/actions"): _own_input(
        Case(
            lambda c, x: c.post(
                "/api/v1/actions",
                json={"action": "untag", "ids": ["2505.00001"], "tag": "secret-tag"},
            )
        )
    ),
    ("GET", "/api/v1/sources"): Case(lambda c, x: c.get("/api/v1/sources")),
    ("POST", "/api/v1/profile"): Case(
        lambda c, x: c.post("/api/v1/profile", json={"profile": "news"})
    ),
    ("POST", "/api/v1/sources"): _own_input(Case(follow_hers_and_leave, ok=(201,))),
    ("GET", "/api/v1/sources/opml"): Case(lambda c, x: c.get("/api/v1/sources/opml")),
    ("POST", "/api/v1/sources/opml"): Case(
        lambda c, x: c.post(
            "/api/v1/sources/opml",
            content=b'<opml version="2.0"><head/><body></body></opml>',
            headers={"content-type": "text/x-opml"},
        )
    ),
    ("GET", "/api/v1/sources/{ref:path}"): Case(
        lambda c, x: c.get(f"/api/v1/sources/{x.alice_source}"), ok=(404,)
    ),
    ("DELETE", "/api/v1/sources/{ref:path}"): Case(
        lambda c, x: c.delete(f"/api/v1/sources/{x.alice_source}"), ok=(404,)
    ),
    ("POST", "/api/v1/update"): Case(lambda c, x: c.post("/api/v1/update?force=true")),
    ("GET", "/api/v1/catalog"): Case(lambda c, x: c.get("/api/v1/catalog", params={"limit": 5})),
    ("GET", "/api/v1/path"): Case(lambda c, x: c.get("/api/v1/path")),
    ("POST", "/api/v1/path/{slug}/done"): Case(
        lambda c, x: c.post(f"/api/v1/path/{x.done_slug}/done")
    ),
    ("DELETE", "/api/v1/path/{slug}/done"): Case(
        lambda c, x: c.delete(f"/api/v1/path/{x.done_slug}/done")
    ),
    ("GET", "/api/v1/tokens"): Case(lambda c, x: c.get("/api/v1/tokens")),
    ("POST", "/api/v1/tokens"): Case(
        lambda c, x: c.post("/api/v1/tokens", json={"name": "bob's"}), ok=(201,)
    ),
    ("DELETE", "/api/v1/tokens/{token_id}"): Case(
        lambda c, x: c.delete(f"/api/v1/tokens/{x.alice_token}"), ok=(404,)
    ),
    ("GET", "/api/v1/digests"): Case(lambda c, x: c.get("/api/v1/digests")),
    ("GET", "/api/v1/digests/{digest_id}"): Case(
        lambda c, x: c.get(f"/api/v1/digests/{x.alice_digest}"), ok=(404,)
    ),
    ("POST", "/api/v1/digests"): Case(
        lambda c, x: c.post("/api/v1/digests", json={"since": "3000d"}), ok=(201,)
    ),
    ("POST", "/api/v1/digests/{digest_id}/send"): Case(
        lambda c, x: c.post(f"/api/v1/digests/{x.alice_digest}/send", json={"to": "b@b.org"}),
        ok=(404,),
    ),
    ("GET", "/api/v1/digest-schedule"): Case(lambda c, x: c.get("/api/v1/digest-schedule")),
    ("PUT", "/api/v1/digest-schedule"): Case(
        lambda c, x: c.put(
            "/api/v1/digest-schedule", json={"cadence": "weekly", "email": "bob@example.org"}
        )
    ),
    ("GET", "/api/v1/feeds/{view}"): Case(lambda c, x: c.get("/api/v1/feeds/new")),
    ("GET", "/api/v1/feeds/{view}/{arg:path}"): Case(
        lambda c, x: c.get(f"/api/v1/feeds/digest/{x.alice_digest}"), ok=(404,)
    ),
    ("GET", "/api/v1/feed-tokens"): Case(lambda c, x: c.get("/api/v1/feed-tokens")),
    ("POST", "/api/v1/feed-tokens"): Case(
        lambda c, x: c.post("/api/v1/feed-tokens", json={"label": "bob's reader"}), ok=(201,)
    ),
    ("DELETE", "/api/v1/feed-tokens/{token_id}"): Case(
        lambda c, x: c.delete(f"/api/v1/feed-tokens/{x.alice_feed_token}"), ok=(404,)
    ),
}


def snapshot(web: Harness) -> dict[str, Any]:
    alice = web.core.for_user("alice")
    path = alice.learning_path()
    return {
        "library": alice.library(),
        "sources": [(s.id, s.name, s.tags) for s in alice.sources()],
        "tokens": alice.api_tokens(),
        "done": [s.slug for s in path.steps if s.done],
        "items": [i.id for i in alice.items(limit=100)],
        "digests": alice.digests(),
        "schedule": alice.digest_schedule(),
        "feed_tokens": [(t.id, t.revoked_at) for t in alice.feed_tokens()],
    }


def test_two_users_through_every_api_route(web_db: str, feed_server: FeedServer) -> None:
    # Offline: Bob follows a catalog profile here, and nothing may leave the machine.
    with harness(web_db, feed_server, fetcher_factory=offline) as web:
        two_users(web)


def two_users(web: Harness) -> None:
    alice = web.core.for_user("alice")
    alice.tag("secret-tag", ["2505.00001", "2505.00002"])
    alice.like(["2505.00003"])
    alice.dismiss(["2505.00004"])
    alice.mark_read(["2505.00005"])
    token = alice.create_api_token("alice-laptop")
    slug = alice.learning_path().steps[0].slug
    alice.mark_done(slug)
    (source,) = alice.sources()
    alice.set_digest_schedule("weekly", email="alice@example.org")
    digest = alice.save_digest(alice.digest(since=date(2000, 1, 1)))
    assert digest.id is not None and digest.entry_count  # her posts are in it
    feed_token = alice.create_feed_token(label="alice-reader")
    (story,) = alice.stories()
    ctx = Ctx(
        web,
        source.id,
        [i.id for i in alice.items()],
        token.record.id,
        slug,
        digest.id,
        feed_token.token.id,
        shared_story=story.id,
    )
    routes = {
        (m, r.path) for r in all_routes(web.app) if r.path.startswith("/api/v1") for m in r.methods
    }
    assert routes == set(CASES), (
        f"routes without an isolation case: {sorted(routes - set(CASES))}; "
        f"cases without a route: {sorted(set(CASES) - routes)}"
    )
    before = snapshot(web)
    bob = web.bearer("bob")
    bob_session = web.login("bob")
    csrf = web.csrf(bob_session)
    bob_session.headers["X-CSRF-Token"] = csrf
    for client in (bob, bob_session):
        for key, case in sorted(CASES.items()):
            response = case.call(client, ctx)
            assert response.status_code in case.ok, (key, response.status_code, response.text)
            if case.leaks_checked:
                text = response.text.lower()
                leaked = [m for m in MARKERS if m in text]
                assert not leaked, (key, leaked, response.text[:500])
            if key == ("GET", "/api/v1/items"):
                ids = {i["id"] for i in response.json()["items"]}
                # Bob's own feed has items with the same titles; none of hers are his.
                assert not ids & set(ctx.alice_items)
        assert snapshot(web) == before, "Bob changed Alice's data"
    # And Alice's token still works: Bob could not revoke it.
    assert (
        web.client(headers={"Authorization": f"Bearer {token.token}"})
        .get("/api/v1/me")
        .json()["user"]["name"]
        == "alice"
    )
