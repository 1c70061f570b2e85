"""Reddit: subreddit listings from the recorded real responses (praw's cassettes), from
``sources add`` through ``update``, served on loopback; rate-limit headers honoured."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from mlradar._connectors.reddit import RedditConnector, parse_listing
from mlradar.exceptions import InvalidInputError, ParseError
from tests.connector_support import core_with, item_refs, settings
from tests.feedserver import FeedServer, serving

JSON = "application/json; charset=UTF-8"


def cassette_body(shared_data: Path, name: str) -> bytes:
    """The listing body a cassette recorded (its second interaction: the first is OAuth)."""
    path = shared_data / "reddit" / "praw-cassettes" / "tests" / "integration" / "cassettes"
    recorded = json.loads((path / f"{name}.json").read_text())
    for interaction in recorded["interactions"]:
        if interaction["request"]["method"] == "GET":
            return str(interaction["response"]["body"]["string"]).encode()
    raise AssertionError(f"no GET in {name}")


def posts(body: bytes) -> list[dict[str, Any]]:
    return [c["data"] for c in json.loads(body)["data"]["children"] if c["kind"] == "t3"]


def connector(db_url: str, server: FeedServer) -> RedditConnector:
    return RedditConnector(settings(db_url), base_url=server.base, interval=0)


def listing_path(sub: str, sort: str = "hot", period: str | None = None) -> str:
    return f"/r/{sub}/{sort}.json?limit=100&raw_json=1" + (f"&t={period}" if period else "")


def test_the_users_inputs_name_listings(db_url: str) -> None:
    reddit = RedditConnector(settings(db_url))
    cases = {
        "r/MachineLearning": ("hot", None, "https://www.reddit.com/r/MachineLearning/"),
        "/r/MachineLearning/": ("hot", None, "https://www.reddit.com/r/MachineLearning/"),
        "r/learnmachinelearning/new": (
            "new",
            None,
            "https://www.reddit.com/r/learnmachinelearning/new/",
        ),
        "r/MachineLearning/top?t=week": (
            "top",
            "week",
            "https://www.reddit.com/r/MachineLearning/top/?t=week",
        ),
        "r/MachineLearning/top": (
            "top",
            "day",
            "https://www.reddit.com/r/MachineLearning/top/?t=day",
        ),
        "https://www.reddit.com/r/MachineLearning/": (
            "hot",
            None,
            "https://www.reddit.com/r/MachineLearning/",
        ),
        "https://old.reddit.com/r/MachineLearning/top/?t=month": (
            "top",
            "month",
            "https://www.reddit.com/r/MachineLearning/top/?t=month",
        ),
        "https://reddit.com/r/MachineLearning/new.json": (
            "new",
            None,
            "https://www.reddit.com/r/MachineLearning/new/",
        ),
    }
    for text, (sort, period, url) in cases.items():
        spec = reddit.parse_spec(text)
        assert spec is not None, text
        assert (spec.kind, spec.config.get("sort"), spec.config.get("t"), spec.url) == (
            "reddit",
            sort,
            period,
            url,
        ), text
    # Subreddit names are not case-sensitive: one canonical spelling finds a subscription.
    one, two = reddit.parse_spec("r/MachineLearning"), reddit.parse_spec("r/machinelearning")
    assert one is not None and two is not None and one.canonical_url == two.canonical_url
    assert reddit.parse_spec("https://example.org/r/x") is None
    assert reddit.parse_spec("https://www.reddit.com/") is None
    with pytest.raises(InvalidInputError, match="one of hot, new, top"):
        reddit.parse_spec("r/MachineLearning/best")
    with pytest.raises(InvalidInputError, match="the period is one of"):
        reddit.parse_spec("r/MachineLearning/top?t=decade")
    with pytest.raises(InvalidInputError, match="only subreddit listings"):
        reddit.parse_spec("https://www.reddit.com/r/MachineLearning/comments/abc/some_post/")


def test_listings_from_add_to_update(db_url: str, shared_data: Path) -> None:
    front = cassette_body(shared_data, "TestFront.test_hot")  # link posts and self posts
    new = cassette_body(shared_data, "TestSubredditListings.test_new")  # self posts
    top = cassette_body(shared_data, "TestSubredditListings.test_top")
    with serving() as server:
        server.add(listing_path("MachineLearning"), front, content_type=JSON)
        server.add(listing_path("AskReddit", "new"), new, content_type=JSON)
        server.add(listing_path("AskReddit", "top", "week"), top, content_type=JSON)
        with core_with(db_url, connector(db_url, server)) as core:
            radar = core.for_user(core.ensure_user("default"))
            radar.add_source("r/MachineLearning", tags=["ml"])
            radar.add_source("r/AskReddit/new")
            radar.add_source("https://www.reddit.com/r/AskReddit/top/?t=week")
            assert {s.kind for s in radar.sources()} == {"reddit"}
            summary = radar.update()
            assert summary.failed == 0
            counts = {s.url: s.new for s in summary.sources}
            assert counts["https://www.reddit.com/r/MachineLearning/"] == len(posts(front))
            assert counts["https://www.reddit.com/r/AskReddit/new/"] == len(posts(new))
            # A descriptive User-Agent on every request.
            seen = server.seen(listing_path("MachineLearning"))
            assert seen and seen[0].headers["User-Agent"].startswith("mlradar/")

            by_key = {i.key: i for i in radar.items(limit=1000)}
            link_post = next(p for p in posts(front) if not p["is_self"])
            got = by_key[f"id:reddit:{link_post['name']}"]
            thread = "https://www.reddit.com" + link_post["permalink"]
            assert (got.points, got.comments, got.comments_url) == (
                link_post["score"],
                link_post["num_comments"],
                thread,
            )
            assert got.title == link_post["title"]
            assert got.source_kind == "reddit"
            refs = item_refs(db_url, got.id)
            assert got.url is not None and ("link", got.url) in refs

            flaired = next(p for p in posts(new) if p.get("link_flair_text"))
            assert flaired["link_flair_text"] in by_key[f"id:reddit:{flaired['name']}"].categories

            # A self post: its permalink is its link, its self text (sanitized) its content.
            self_post = next(p for p in posts(new) if p["is_self"] and p.get("selftext_html"))
            mine = by_key[f"id:reddit:{self_post['name']}"]
            assert mine.url == "https://www.reddit.com" + self_post["permalink"]
            assert mine.content_html and "<!--" not in mine.content_html


def test_a_self_post_naming_papers_mentions_them(db_url: str) -> None:
    post = {
        "name": "t3_abc123",
        "id": "abc123",
        "title": "[R] Two new papers on diffusion",
        "permalink": "/r/MachineLearning/comments/abc123/r_two_new_papers_on_diffusion/",
        "url": "https://www.reddit.com/r/MachineLearning/comments/abc123/r_two_new_papers_on_diffusion/",
        "is_self": True,
        "score": 42,
        "num_comments": 7,
        "link_flair_text": "Research",
        "author": "researcher",
        "created_utc": 1742299200.0,
        "selftext_html": '<!-- SC_OFF --><div class="md"><p>See '
        '<a href="https://arxiv.org/abs/2503.11677">the first</a>'
        ' and <a href="https://openreview.net/forum?id=HkxYzAb12">the second</a>.</p>'
        '<img src=x onerror="alert(1)"></div><!-- SC_ON -->',
    }
    body = json.dumps({"kind": "Listing", "data": {"children": [{"kind": "t3", "data": post}]}})
    (entry,) = parse_listing(body.encode(), "https://www.reddit.com/r/MachineLearning/hot.json")
    assert entry.arxiv_ids == ("2503.11677",)
    assert ("openreview", "HkxYzAb12") in entry.refs
    assert entry.categories == ("Research",)
    assert entry.content_html is not None and "onerror" not in entry.content_html
    assert entry.discussion is not None and entry.discussion.points == 42


def test_a_429_with_x_ratelimit_reset_pauses_reddit(db_url: str) -> None:
    limited = {"X-Ratelimit-Remaining": "0", "X-Ratelimit-Used": "100", "X-Ratelimit-Reset": "300"}
    paths = {
        "r/MachineLearning": listing_path("MachineLearning"),
        "r/AskReddit/new": listing_path("AskReddit", "new"),
    }
    with serving() as server:
        for path in paths.values():
            server.add(
                path, "Too Many Requests", status=429, headers=limited, content_type="text/plain"
            )
        with core_with(db_url, connector(db_url, server)) as core:
            radar = core.for_user(core.ensure_user("default"))
            sources = {text: radar.add_source(text) for text in paths}
            radar.update()
            # One request: the 429 paused the host, and the other source never asked.
            asked = [text for text, path in paths.items() if server.seen(path)]
            assert len(asked) == 1 and len(server.seen(paths[asked[0]])) == 1
            state = radar.source(sources[asked[0]].id).state
            assert state.last_error is not None and "429" in state.last_error
            assert state.last_fetched_at is not None and state.next_due_at is not None
            assert state.next_due_at - state.last_fetched_at >= timedelta(seconds=300)


def test_an_exhausted_window_delays_the_next_fetch(db_url: str, shared_data: Path) -> None:
    front = cassette_body(shared_data, "TestFront.test_hot")
    spent = {"X-Ratelimit-Remaining": "0.0", "X-Ratelimit-Used": "600", "X-Ratelimit-Reset": "7200"}
    paths = {
        "r/MachineLearning": listing_path("MachineLearning"),
        "r/AskReddit/new": listing_path("AskReddit", "new"),
    }
    with serving() as server:
        for path in paths.values():
            server.add(path, front, content_type=JSON, headers=spent)
        with core_with(db_url, connector(db_url, server)) as core:
            radar = core.for_user(core.ensure_user("default"))
            sources = {text: radar.add_source(text) for text in paths}
            summary = radar.update()
            # Nothing left of the window: the host waits for its reset, even after a 200.
            asked = [text for text, path in paths.items() if server.seen(path)]
            assert len(asked) == 1
            fetched = sources[asked[0]].id
            assert {s.source_id: s.new for s in summary.sources}[fetched] == len(posts(front))
            state = radar.source(fetched).state
            assert state.next_due_at is not None and state.last_fetched_at is not None
            assert state.next_due_at - state.last_fetched_at >= timedelta(seconds=7200)


def test_a_response_in_an_unexpected_shape_fails_that_source_only(
    db_url: str, shared_data: Path
) -> None:
    with serving() as server:
        server.add(
            listing_path("broken"), json.dumps({"kind": "Listing", "data": {}}), content_type=JSON
        )
        server.add(listing_path("html"), "<html>blocked</html>", content_type="text/html")
        server.add(
            listing_path("fine"),
            cassette_body(shared_data, "TestSubredditListings.test_hot"),
            content_type=JSON,
        )
        with core_with(db_url, connector(db_url, server)) as core:
            radar = core.for_user(core.ensure_user("default"))
            for sub in ("broken", "html", "fine"):
                radar.add_source(f"r/{sub}")
            by_url = {s.url.split("/")[4]: s for s in radar.update().sources}
            assert (
                by_url["broken"].error
                == "the response is no Reddit listing (no data.children list)"
            )
            assert by_url["html"].error == "the listing is not JSON"
            assert by_url["fine"].error is None and by_url["fine"].new > 0
    with pytest.raises(ParseError, match="without its 'name' or 'permalink'"):
        parse_listing(b'{"data": {"children": [{"kind": "t3", "data": {"title": "x"}}]}}', "u")


def test_every_recorded_listing_parses(shared_data: Path) -> None:
    names = [
        "TestFront.test_best",
        "TestFront.test_controversial",
        "TestFront.test_new",
        "TestFront.test_top",
        "TestDomainListing.test_hot",
        "TestSubredditListings.test_controversial",
        "TestSubredditListings.test_rising",
        "TestSubredditListings.test_comments",  # comments (t1): no posts
        "TestListingGenerator.test_no_items",
    ]
    for name in names:
        body = cassette_body(shared_data, name)
        entries = parse_listing(body, "https://www.reddit.com/")
        live = [p for p in posts(body) if not p.get("removed_by_category") and p.get("title")]
        assert len(entries) == len(live), name
        for entry in entries:
            assert entry.discussion is not None and entry.discussion.comments_url
            assert entry.url is not None and entry.url in entry.links


def test_hostile_post_links_never_reach_storage() -> None:
    def listing(**post: Any) -> bytes:
        base = {"name": "t3_x", "title": "t", "permalink": "/r/ml/comments/x/t/", "is_self": False}
        child = {"kind": "t3", "data": {**base, **post}}
        return json.dumps({"data": {"children": [child]}}).encode()

    (entry,) = parse_listing(listing(url="javascript:alert(1)"), "u")
    assert entry.url == "https://www.reddit.com/r/ml/comments/x/t/"
    with pytest.raises(ParseError, match="'permalink' is not a path"):
        parse_listing(listing(permalink="javascript:alert(1)"), "u")
    with pytest.raises(ParseError, match="'permalink' is not a path"):
        parse_listing(listing(permalink="//evil.example/x"), "u")


def test_the_rate_limit_headers_read() -> None:
    from mlradar._fetch.headers import parse_ratelimit_pause

    assert parse_ratelimit_pause({"x-ratelimit-remaining": "0.0", "x-ratelimit-reset": "42"}) == 42
    assert parse_ratelimit_pause({"x-ratelimit-remaining": "7", "x-ratelimit-reset": "42"}) is None
    assert parse_ratelimit_pause({"x-ratelimit-reset": "42"}) is None
    assert parse_ratelimit_pause({"x-ratelimit-reset": "42"}, limited=True) == 42
    assert parse_ratelimit_pause({"x-ratelimit-reset": "soon"}, limited=True) is None
    assert parse_ratelimit_pause({"x-ratelimit-remaining": "x", "x-ratelimit-reset": "1"}) is None
    assert parse_ratelimit_pause({}) is None
