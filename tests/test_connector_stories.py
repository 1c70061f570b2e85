"""The entries of part A's connectors join one story: a paper linked from Hacker News,
Reddit and a blog post is one story with three independent sources and the summed
discussion signal.  A newsletter issue naming several papers is a digest: it mentions each
(its item_refs, see test_connector_newsletters.py) and joins none of their stories."""

from __future__ import annotations

import json
from pathlib import Path

from mlradar._connectors.hackernews import HackerNewsConnector
from mlradar._connectors.reddit import RedditConnector
from tests.connector_support import core_with, settings
from tests.feedserver import serving

FIXTURES = Path(__file__).parent / "fixtures"
BLOG = """<?xml version="1.0"?><rss version="2.0"><channel><title>A blog</title>
<item><title>Notes on scaling diffusion transformers</title>
<link>https://blog.example/diffusion-notes</link><guid>blog-1</guid>
<description>My notes on &lt;a href="https://arxiv.org/abs/2503.11677"&gt;the paper&lt;/a&gt;.
</description>
</item></channel></rss>"""


def test_one_paper_on_hn_reddit_and_a_newsletter_is_one_story(db_url: str) -> None:
    post = {
        "name": "t3_abc123",
        "title": "[R] Scaling Diffusion Transformers",
        "permalink": "/r/MachineLearning/comments/abc123/r_scaling_diffusion_transformers/",
        "url": "https://arxiv.org/abs/2503.11677v1",
        "is_self": False,
        "score": 42,
        "num_comments": 7,
        "created_utc": 1742300000.0,
    }
    listing = {"kind": "Listing", "data": {"children": [{"kind": "t3", "data": post}]}}
    search = "/api/v1/search_by_date?query=arxiv.org&tags=story&hitsPerPage=100"
    with serving() as server:
        server.add(
            search,
            (FIXTURES / "hackernews" / "algolia-search.json").read_bytes(),
            content_type="application/json",
        )
        server.add(
            "/r/MachineLearning/hot.json?limit=100&raw_json=1",
            json.dumps(listing),
            content_type="application/json",
        )
        newsletter = server.add(
            "/importai.xml",
            (FIXTURES / "newsletters" / "substack.xml").read_bytes(),
            content_type="application/rss+xml",
        )
        blog = server.add("/blog.xml", BLOG, content_type="application/rss+xml")
        hn = HackerNewsConnector(settings(db_url), search_url=server.base, search_interval=0)
        reddit = RedditConnector(settings(db_url), base_url=server.base, interval=0)
        with core_with(db_url, hn, reddit) as core:
            radar = core.for_user(core.ensure_user("default"))
            for spec in ("hn:search:arxiv.org", "r/MachineLearning", newsletter, blog):
                radar.add_source(spec)
            assert radar.update().failed == 0
            [story] = [s for s in radar.stories(limit=100) if s.arxiv_id == "2503.11677"]
            assert story.sources == 3
            assert (story.points, story.comments) == (321 + 42, 57 + 7)
            mentions = radar.story(story.id).mentions
            assert sorted(m.kind for m in mentions) == ["feed", "hackernews", "reddit"]
            assert "Import AI" not in {m.source for m in mentions}  # a digest joins none
