"""Stories on the web: the API in the shapes ``mlradar stories --json`` prints, the pages,
one user's stories hidden from another, and the sources page's last update run."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from mlradar.cli import app as cli
from tests.web.support import Harness, feed
from tests.web.test_web_api import is_problem

STORY_FIELDS = {
    "id",
    "title",
    "url",
    "arxiv_id",
    "first_seen",
    "last_seen",
    "sources",
    "points",
    "comments",
    "mentions",
}
MENTION_FIELDS = {"source", "kind", "url", "title", "published", "points", "comments"}

SECOND_FEED = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Only Alice reads this</title><link>{base}/</link>
<item><title>Notes on a second paper</title><link>{base}/alice-only-1</link>
<guid>{base}/alice-only-1</guid>
<description>On https://arxiv.org/abs/2505.00002 and its samplers.</description>
<pubDate>Wed, 07 May 2025 10:00:00 GMT</pubDate></item>
</channel></rss>"""


def alice_only_story(web: Harness) -> int:
    """A second feed that only Alice follows, naming another paper: a story Bob's sources
    never mention.  Returns its id."""
    url = web.server.add("/alice-only.xml", SECOND_FEED.format(base=web.server.base))
    alice = web.core.for_user("alice")
    alice.add_source(url, name="alice's private feed")
    alice.update()
    (story,) = [s for s in alice.stories() if s.arxiv_id == "2505.00002"]
    return story.id


def test_the_api_lists_stories_as_the_cli_prints_them(web: Harness, web_db: str) -> None:
    alice_only_story(web)
    c = web.bearer("alice")
    page = c.get("/api/v1/stories").json()
    assert set(page) == {"items", "limit", "next"} and page["next"] is None
    assert len(page["items"]) == 2
    for story in page["items"]:
        assert set(story) >= STORY_FIELDS
        assert story["mentions"] and all(set(m) >= MENTION_FIELDS for m in story["mentions"])
    assert page["items"][0]["arxiv_id"] == "2505.00002"  # newest last seen first
    printed = CliRunner().invoke(cli, ["--db", web_db, "--user", "alice", "stories", "--json"])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.output) == page["items"]
    one = c.get(f"/api/v1/stories/{page['items'][1]['id']}").json()
    assert one == page["items"][1]
    shown = CliRunner().invoke(
        cli, ["--db", web_db, "--user", "alice", "story", str(one["id"]), "--json"]
    )
    assert json.loads(shown.output) == one


def test_stories_paginate_sort_and_filter(web: Harness) -> None:
    alice_only_story(web)
    c = web.bearer("alice")
    first = c.get("/api/v1/stories", params={"limit": 1}).json()
    assert len(first["items"]) == 1 and first["next"]
    second = c.get("/api/v1/stories", params={"limit": 1, "cursor": first["next"]}).json()
    assert second["next"] is None
    assert second["items"][0]["id"] != first["items"][0]["id"]
    discussed = c.get("/api/v1/stories", params={"sort": "discussed"})
    assert discussed.status_code == 200
    only = c.get("/api/v1/stories", params={"source": "alice's private feed"}).json()
    assert [s["arxiv_id"] for s in only["items"]] == ["2505.00002"]
    by_id = c.get(
        "/api/v1/stories", params={"source": str(only["items"][0]["mentions"][0]["source_id"])}
    )
    assert [s["arxiv_id"] for s in by_id.json()["items"]] == ["2505.00002"]
    assert c.get("/api/v1/stories", params={"since": "2025-05-07"}).json()["items"]
    assert c.get("/api/v1/stories", params={"since": "7d"}).json()["items"] == []  # from 2025
    is_problem(c.get("/api/v1/stories", params={"cursor": "garbage!"}), 400)
    is_problem(c.get("/api/v1/stories", params={"since": "last tuesday"}), 400)
    is_problem(c.get("/api/v1/stories", params={"source": "none such"}), 404)
    is_problem(c.get("/api/v1/stories", params={"sort": "sideways"}), 422)
    is_problem(c.get("/api/v1/stories", params={"limit": 0}), 422)
    is_problem(c.get("/api/v1/stories", params={"limit": 10_000}), 422)
    is_problem(c.get("/api/v1/stories/999999"), 404)
    for bad in ("abc", "0", "-1", "99999999999999999999999"):
        is_problem(c.get(f"/api/v1/stories/{bad}"), 422)


def test_one_users_stories_are_hidden_from_another(web: Harness) -> None:
    hers = alice_only_story(web)
    bob = web.bearer("bob")
    is_problem(bob.get(f"/api/v1/stories/{hers}"), 404)
    assert hers not in {s["id"] for s in bob.get("/api/v1/stories").json()["items"]}
    page = web.login("bob").get(f"/story/{hers}", headers={"accept": "text/html"})
    assert page.status_code == 404 and "Second paper" not in page.text
    # Nor does the paper's page point him at her story.
    assert 'href="/story/' not in web.login("bob").get("/paper/2505.00002").text
    assert web.core.for_user("bob").story_of(arxiv_id="2505.00002") is None
    assert web.core.for_user("alice").story_of(arxiv_id="2505.00002") == hers
    # The story both follow a feed about: Bob sees his mentions under his name, not hers.
    (shared,) = bob.get("/api/v1/stories").json()["items"]
    assert {m["source"] for m in shared["mentions"]} == {"bob's blog"}
    assert "alice" not in bob.get(f"/api/v1/stories/{shared['id']}").text.lower()
    html = web.login("bob").get(f"/story/{shared['id']}").text.lower()
    assert "alice" not in html and "bob&#39;s blog" in html


def test_the_stories_and_story_pages(web: Harness) -> None:
    hers = alice_only_story(web)
    for path in ("/stories", f"/story/{hers}"):  # a visitor is sent to log in first
        visitor = web.client().get(path, headers={"accept": "text/html"})
        assert visitor.status_code == 303 and "/login" in visitor.headers["location"], path
    c = web.login("alice")
    listing = c.get("/stories")
    assert listing.status_code == 200
    assert f'href="/story/{hers}"' in listing.text and 'href="/paper/2505.00002"' in listing.text
    assert "Stories</a>" in listing.text  # the nav link
    discussed = c.get("/stories", params={"sort": "discussed"})
    assert discussed.status_code == 200 and 'aria-current="page">Most discussed' in discussed.text
    filtered = c.get("/stories", params={"since": "2025-05-07"}).text
    assert f'href="/story/{hers}"' in filtered and "Diffusion Diffusion Study 1" not in filtered
    bad = c.get("/stories", params={"since": "last tuesday"})
    assert bad.status_code == 400 and "not a date" in bad.text and "<form" in bad.text
    assert c.get("/stories", params={"source": "nope"}).status_code == 400
    paged = c.get("/stories", params={"cursor": "garbage!"})
    assert paged.status_code == 400

    story = c.get(f"/story/{hers}").text
    assert "Notes on a second paper" in story  # the mention's title
    assert "alice&#39;s private feed" in story and "<td>feed</td>" in story
    assert 'href="/paper/2505.00002"' in story and 'id="related"' in story
    assert "first seen" in story and "2025-05-07" in story
    assert c.get("/story/999999", headers={"accept": "text/html"}).status_code == 404
    assert c.get("/story/abc", headers={"accept": "text/html"}).status_code == 422

    # A paper's page and an item's page link to their story.
    assert f'href="/story/{hers}"' in c.get("/paper/2505.00002").text
    item = web.core.for_user("alice").story(hers).mentions[0].item_id
    assert f'href="/story/{hers}"' in c.get(f"/item/{item}").text
    # A paper no item mentions has no story to link to.
    assert 'href="/story/' not in c.get("/paper/2505.00009").text


def test_a_story_of_hostile_titles_is_escaped(web: Harness) -> None:
    c = web.login("alice")
    (shared,) = web.core.for_user("alice").stories()
    text = c.get(f"/story/{shared.id}").text
    assert "<script>alert(2)</script>" not in text and "&lt;script&gt;alert(2)" in text
    assert "onerror=" not in text.replace("onerror=&#34;", "")


def test_the_sources_page_shows_the_last_update_run(web: Harness) -> None:
    c = web.login("alice")
    page = c.get("/sources").text
    # build() ran one update for everybody: Alice sees her share of it.
    assert "Last update" in page and "(by update)" in page
    assert "1 of your sources fetched." in page
    assert "does not run scheduled updates" in page  # no worker in a test app
    # A source of Alice's starts failing; the next run says so, to her only.
    url = web.server.add("/flaky.xml", feed("Flaky", web.server.base))
    alice = web.core.for_user("alice")
    alice.add_source(url, name="flaky")
    web.server.add("/flaky.xml", b"", status=500)
    web.core.update(force=True)
    page = c.get("/sources").text
    assert "2 of your sources fetched, 1 failed." in page and 'class="error">Last update' in page
    bobs = web.login("bob").get("/sources").text
    assert (
        "1 of your sources fetched." in bobs and "failed" not in bobs.split("Last update")[1][:200]
    )


def test_the_sources_page_before_any_update(web: Harness) -> None:
    storage = web.core._storage
    with storage.begin() as conn:
        from sqlalchemy import delete

        from mlradar._storage import schema

        conn.execute(delete(schema.update_runs))
    assert "No update has run yet." in web.login("alice").get("/sources").text
