"""Hacker News: the Firebase lists (real recorded items) and the Algolia search, from
``sources add`` through ``update``, served on loopback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlradar._connectors.hackernews import HackerNewsConnector, item_entry, parse_search
from mlradar.exceptions import InvalidInputError, ParseError
from tests.connector_support import core_with, item_refs, settings
from tests.feedserver import FeedServer, serving

FIXTURES = Path(__file__).parent / "fixtures" / "hackernews"
ODD = json.loads((FIXTURES / "odd-items.json").read_text())


def real_items(shared_data: Path, name: str) -> list[dict[str, Any]]:
    items = json.loads((shared_data / "hackernews" / "firebase-items" / f"{name}.json").read_text())
    return [i for i in items if i]


def serve_list(server: FeedServer, name: str, items: list[dict[str, Any]]) -> None:
    server.add(
        f"/v0/{name}stories.json",
        json.dumps([i["id"] for i in items]),
        content_type="application/json",
    )
    for item in items:
        server.add(f"/v0/item/{item['id']}.json", json.dumps(item), content_type="application/json")


def connector(db_url: str, server: FeedServer, **kw: Any) -> HackerNewsConnector:
    return HackerNewsConnector(
        settings(db_url), api_url=server.base, search_url=server.base, search_interval=0, **kw
    )


def test_the_users_inputs_name_the_lists(db_url: str) -> None:
    hn = HackerNewsConnector(settings(db_url))
    cases = {
        "hn:top": "hn:top",
        "HN:Best": "hn:best",
        "hn:new": "hn:new",
        "hn:show": "hn:show",
        "hn:ask": "hn:ask",
        "https://news.ycombinator.com/": "hn:top",
        "https://news.ycombinator.com/news": "hn:top",
        "https://news.ycombinator.com/best": "hn:best",
        "https://news.ycombinator.com/newest": "hn:new",
        "news.ycombinator.com/show": "hn:show",
    }
    for text, url in cases.items():
        spec = hn.parse_spec(text)
        assert spec is not None and spec.url == url, text
    search = hn.parse_spec('hn:search:"diffusion"')
    assert search is not None and search.config == {"mode": "search", "query": '"diffusion"'}
    assert hn.parse_spec("https://news.ycombinator.com/rss") is None  # a feed: not ours
    assert hn.parse_spec("https://example.org/") is None
    with pytest.raises(InvalidInputError, match="Hacker News lists are"):
        hn.parse_spec("hn:frontpage")
    with pytest.raises(InvalidInputError, match="needs a query"):
        hn.parse_spec("hn:search:  ")


def test_top_stories_from_add_to_update_with_counts_refreshed(
    db_url: str, shared_data: Path
) -> None:
    real = real_items(shared_data, "topstories")
    items = ODD + real
    cap = 100
    expected = [
        i
        for i in items[:cap]
        if i.get("type") == "story" and not i.get("deleted") and not i.get("dead")
    ]
    with serving() as server:
        serve_list(server, "top", items)
        with core_with(db_url, connector(db_url, server)) as core:
            radar = core.for_user(core.ensure_user("default"))
            source = radar.add_source("https://news.ycombinator.com/", tags=["hn"])
            assert (source.kind, source.url) == ("hackernews", "hn:top")
            assert [s.kind for s in radar.sources()] == ["hackernews"]
            first = radar.update()
            assert (first.new, first.failed) == (len(expected), 0)
            # The cap holds: ids past it are never requested.
            assert not server.seen(f"/v0/item/{items[cap]['id']}.json")

            by_key = {i.key: i for i in radar.items(limit=500)}
            assert "id:hn:1" not in by_key and "id:hn:2" not in by_key  # deleted, dead
            assert "id:hn:4" not in by_key and "id:hn:5" not in by_key  # a comment, a job
            story = real[0]
            got = by_key[f"id:hn:{story['id']}"]
            assert (got.url, got.title, got.author) == (story["url"], story["title"], story["by"])
            assert (got.points, got.comments) == (story["score"], story["descendants"])
            assert got.comments_url == f"https://news.ycombinator.com/item?id={story['id']}"
            assert got.source_kind == "hackernews"
            assert ("link", story["url"]) in item_refs(db_url, got.id)

            # A self post links its own page; its text is sanitized; its links are mentions.
            ask = by_key["id:hn:3"]
            assert ask.url == "https://news.ycombinator.com/item?id=3"
            assert ask.content_html is not None and "<script" not in ask.content_html
            refs = item_refs(db_url, ask.id)
            assert ("arxiv", "2503.11677") in refs and ("openreview", "HkxYzAb12") in refs

            # Later: the story gained points and comments.  Stored in place, not "updated".
            serve_list(server, "top", [ODD[2], {**story, "score": 999, "descendants": 500}])
            second = radar.update(force=True)
            assert (second.new, second.updated, second.failed) == (0, 0, 0)
            again = radar.item(got.id)
            assert (again.points, again.comments) == (999, 500)
            assert radar.item(ask.id).points == 12


def test_best_and_new_lists_read_the_real_items(db_url: str, shared_data: Path) -> None:
    for name in ("best", "new", "show"):
        items = real_items(shared_data, f"{name}stories")
        entries = [item_entry(i) for i in items]
        stories = [e for e in entries if e is not None]
        assert len(stories) == sum(1 for i in items if i.get("type") == "story"), name
        for item, entry in zip(items, entries, strict=True):
            if entry is None:
                continue
            assert entry.discussion is not None
            assert entry.discussion.points == item["score"]
            assert entry.url is not None and entry.url in entry.links
            if "url" not in item:
                assert entry.url == f"https://news.ycombinator.com/item?id={item['id']}"


def test_a_list_in_an_unexpected_shape_fails_that_source_only(
    db_url: str, shared_data: Path
) -> None:
    with serving() as server:
        server.add(
            "/v0/topstories.json",
            json.dumps({"error": "Permission denied"}),
            content_type="application/json",
        )
        serve_list(server, "best", real_items(shared_data, "beststories")[:5])
        server.add("/v0/item/77.json", json.dumps({"type": "story", "title": "no id"}))
        server.add("/v0/newstories.json", "[77]", content_type="application/json")
        server.add("/v0/askstories.json", "[78, 79]", content_type="application/json")
        server.add("/v0/item/78.json", "<html>maintenance</html>", content_type="text/html")
        server.add("/v0/item/79.json", json.dumps(ODD[2]), content_type="application/json")
        with core_with(db_url, connector(db_url, server)) as core:
            radar = core.for_user(core.ensure_user("default"))
            for spec in ("hn:top", "hn:best", "hn:new", "hn:ask"):
                radar.add_source(spec)
            summary = radar.update()
            by_url = {s.url: s for s in summary.sources}
            assert by_url["hn:top"].error == "the story list is not a list of item ids"
            assert by_url["hn:new"].error == "a Hacker News item without an integer 'id'"
            assert by_url["hn:ask"].error == "item 78 is not JSON"
            assert by_url["hn:best"].new == 5 and by_url["hn:best"].error is None
            assert (
                radar.source("hn:top").state.last_error
                == "the story list is not a list of item ids"
            )


def test_items_that_cannot_be_read_are_a_warning_not_a_failure(
    db_url: str, shared_data: Path
) -> None:
    items = real_items(shared_data, "beststories")[:4]
    with serving() as server:
        serve_list(server, "best", items)
        del server.routes[f"/v0/item/{items[1]['id']}.json"]  # a 404
        with core_with(db_url, connector(db_url, server)) as core:
            radar = core.for_user(core.ensure_user("default"))
            radar.add_source("hn:best")
            summary = radar.update()
            assert (summary.new, summary.failed) == (3, 0)
            assert "1 of 4 items could not be read (HTTP 404" in (summary.sources[0].warning or "")


def test_a_standing_search_keeps_its_newest_time_and_refreshes_recent_counts(
    db_url: str,
) -> None:
    body = (FIXTURES / "algolia-search.json").read_text()
    first_path = "/api/v1/search_by_date?query=arxiv.org&tags=story&hitsPerPage=100"
    since = 1742299200 - 3 * 24 * 3600
    later_path = first_path + f"&numericFilters=created_at_i%3E{since}"
    with serving() as server:
        server.add(first_path, body, content_type="application/json")
        hits = json.loads(body)
        hits["hits"][0]["points"] = 400
        server.add(later_path, json.dumps({**hits, "nbPages": 2}), content_type="application/json")
        newer = {
            "objectID": "40000003",
            "title": "Diffusion on arxiv.org, again",
            "url": "https://arxiv.org/abs/2503.22222",
            "created_at_i": 1742400000,
            "points": 5,
            "num_comments": 0,
        }
        page_two = {"hits": [newer], "page": 1, "nbPages": 2}
        server.add(later_path + "&page=1", json.dumps(page_two), content_type="application/json")
        with core_with(db_url, connector(db_url, server)) as core:
            radar = core.for_user(core.ensure_user("default"))
            source = radar.add_source("hn:search:arxiv.org")
            assert (source.kind, source.title) == ("hackernews", "Hacker News: arxiv.org")
            first = radar.update()
            assert (first.new, first.failed) == (2, 0)  # the untitled hit is skipped
            by_key = {i.key: i for i in radar.items()}
            story = by_key["id:hn:40000002"]
            assert (story.points, story.comments, story.url) == (
                321,
                57,
                "https://arxiv.org/abs/2503.11677",
            )
            assert story.arxiv_ids == ("2503.11677",)
            ask = by_key["id:hn:40000001"]
            assert ask.url == "https://news.ycombinator.com/item?id=40000001"
            assert ask.content_html is not None and "onerror" not in ask.content_html
            assert ask.arxiv_ids == ("2502.01234",)

            second = radar.update(force=True)
            assert len(server.seen(later_path)) == 1
            assert len(server.seen(later_path + "&page=1")) == 1  # a second page, read too
            assert (second.new, second.failed) == (1, 0)
            assert radar.item(story.id).points == 400
            state = radar.source("hn:search:arxiv.org")
            assert state.state.last_error is None


def test_a_search_response_without_hits_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="no 'hits' list"):
        parse_search(b'{"message": "Invalid query"}', "https://hn.algolia.com/api/v1/search")
    with pytest.raises(ParseError, match="not JSON"):
        parse_search(b"<html>", "https://hn.algolia.com/api/v1/search")
    with pytest.raises(ParseError, match="numeric 'objectID'"):
        parse_search(b'{"hits": [{"title": "x"}]}', "https://hn.algolia.com/api/v1/search")


def test_the_default_registry_sends_each_input_to_its_kind(db_url: str) -> None:
    from mlradar._connectors import default_registry

    registry = default_registry(settings(db_url), plugins=False)
    cases = {
        "hn:top": "hackernews",
        "https://news.ycombinator.com/best": "hackernews",
        "https://news.ycombinator.com/rss": "feed",
        "r/MachineLearning": "reddit",
        "https://www.reddit.com/r/MachineLearning/top/?t=week": "reddit",
        "https://www.reddit.com/r/MachineLearning/.rss": "reddit",
        "@TwoMinutePapers": "youtube",
        "https://www.youtube.com/channel/UCbfYPyITQ-7l4upoX8nvctg": "youtube",
        "https://importai.substack.com/": "feed",
        "arxiv:cs.LG": "arxiv",
    }
    for text, kind in cases.items():
        assert registry.parse(text)[0].kind == kind, text
    with pytest.raises(InvalidInputError, match="not a source mlradar can follow") as failed:
        registry.parse("nonsense")
    for example in ("hn:top", "r/<subreddit>", "youtube.com/@handle"):
        assert example in str(failed.value)


def test_a_hostile_story_url_falls_back_to_the_item_page() -> None:
    entry = item_entry(
        {
            "id": 9,
            "type": "story",
            "title": "<b>Click</b> me" + "!" * 5000,
            "url": "javascript:alert(1)",
            "score": 3,
            "time": 1573500000,
        }
    )
    assert entry is not None
    assert entry.url == "https://news.ycombinator.com/item?id=9"
    assert entry.title is not None and len(entry.title) <= 1000
    assert all(link.startswith("https://") for link in entry.links)


def test_the_command_line_follows_hn_and_reddit_at_configured_urls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_data: Path
) -> None:
    from typer.testing import CliRunner

    from mlradar.cli import app

    items = real_items(shared_data, "beststories")[:5]
    post = {"name": "t3_q1", "title": "A post", "permalink": "/r/ml/comments/q1/a/", "score": 9}
    listing = {"data": {"children": [{"kind": "t3", "data": {**post, "is_self": True}}]}}
    with serving() as server:
        serve_list(server, "best", items)
        server.add(
            "/r/MachineLearning/top.json?limit=100&raw_json=1&t=week",
            json.dumps(listing),
            content_type="application/json",
        )
        for name in ("HACKERNEWS_API_URL", "REDDIT_URL"):
            monkeypatch.setenv(f"MLRADAR_{name}", server.base)
        monkeypatch.setenv("MLRADAR_ALLOW_PRIVATE_NETWORKS", "1")
        db = str(tmp_path / "radar.sqlite")
        runner = CliRunner()

        def cli(*args: str) -> str:
            result = runner.invoke(app, ["--db", db, *args])
            assert result.exit_code == 0, result.output
            return result.output

        cli("sources", "add", "https://news.ycombinator.com/best")
        cli("sources", "add", "r/MachineLearning/top?t=week")
        kinds = {s["kind"] for s in json.loads(cli("sources", "list", "--json"))}
        assert kinds == {"hackernews", "reddit"}
        summary = json.loads(cli("update", "--json"))
        assert (summary["total"]["new"], summary["total"]["failed"]) == (6, 0)
        listed = json.loads(cli("items", "-n", "10", "--json"))
        points = {i["title"]: i["points"] for i in listed}
        assert points["A post"] == 9
        assert points[items[0]["title"]] == items[0]["score"]
