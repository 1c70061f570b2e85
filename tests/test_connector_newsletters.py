"""Newsletters (Substack, Buttondown, Beehiiv) are feeds: a full-content issue keeps its
content, and every paper it links becomes a mention of that paper, not just the first."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlradar import RadarCore
from mlradar._identity.refs import extract_refs, ref_of_link
from mlradar._sources.feed import parse_feed
from tests.connector_support import item_refs
from tests.feedserver import serving

FIXTURES = Path(__file__).parent / "fixtures" / "newsletters"

#: fixture -> (arXiv ids, DOIs, other refs) its one issue names, and a phrase of its body.
EXPECTED = {
    "substack.xml": (
        {"2503.11677", "2502.01234", "2501.04567"},
        {"10.1038/s41586-024-07421-0"},
        {("pmlr", "v235/smith24a"), ("openreview", "HkxYzAb12")},
        "A planning agent beats baselines.",
    ),
    "buttondown.xml": (
        {"2503.11677", "2502.01234"},
        set(),
        {("acl", "2024.acl-long.123"), ("s2", "204e3073870fae3d05bcbc2f6a8e263d9b72e776")},
        "Reply to this email to tell us what you read.",
    ),
    "beehiiv.xml": (
        {"2501.04567", "2503.22222"},
        {"10.1145/3442188.3445922"},
        {("openreview", "Zx9QwErTy1"), ("pmlr", "v202/lee23b")},
        "and a NeurIPS oral",
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_paper_an_issue_links_is_named(name: str) -> None:
    arxiv, dois, refs, phrase = EXPECTED[name]
    feed = parse_feed((FIXTURES / name).read_bytes(), "https://news.example/feed")
    (issue,) = feed.entries
    assert set(issue.arxiv_ids) == arxiv
    assert set(issue.dois) == dois
    assert set(issue.refs) == refs
    # The full content is kept (sanitized), not cut down: in content:encoded for Substack
    # and Beehiiv, in the description itself for Buttondown.
    body = issue.content_html or issue.summary_html
    assert body is not None and phrase in body
    assert phrase in issue.text
    for hostile in ("<script", "onerror", "<iframe"):
        assert hostile not in body


def test_an_issue_is_stored_with_a_mention_of_each_paper(db_url: str) -> None:
    with serving() as server:
        urls = {
            n: server.add(f"/{n}", (FIXTURES / n).read_bytes(), content_type="application/rss+xml")
            for n in EXPECTED
        }
        with RadarCore.open(db_url, allow_private_networks=True) as core:
            radar = core.for_user(core.ensure_user("default"))
            for url in urls.values():
                radar.add_source(url, tags=["newsletters"])
            assert {s.kind for s in radar.sources()} == {"feed"}
            summary = radar.update()
            assert (summary.new, summary.failed) == (3, 0)
            by_source = {i.source_name: i for i in radar.items()}
            expected_by_title = {
                "Import AI": EXPECTED["substack.xml"],
                "Best of ML": EXPECTED["buttondown.xml"],
                "The Research Digest": EXPECTED["beehiiv.xml"],
            }
            for title, (arxiv, dois, refs, _) in expected_by_title.items():
                item = by_source[title]
                stored = set(item_refs(db_url, item.id))
                wanted = {("arxiv", a) for a in arxiv} | {("doi", d) for d in dois} | refs
                assert wanted <= stored, title
                # Each paper identifier is one mention: nothing but these and the links.
                assert {r for r in stored if r[0] != "link"} == wanted, title


def test_the_links_that_name_papers() -> None:
    cases = {
        "https://openreview.net/forum?id=HkxYzAb12": ("openreview", "HkxYzAb12"),
        "https://openreview.net/forum?id=HkxYzAb12&noteId=abc": ("openreview", "HkxYzAb12"),
        "https://openreview.net/pdf?id=Zx9QwErTy1": ("openreview", "Zx9QwErTy1"),
        "https://proceedings.mlr.press/v235/smith24a.html": ("pmlr", "v235/smith24a"),
        "http://proceedings.mlr.press/v202/lee23b/lee23b.pdf": ("pmlr", "v202/lee23b"),
        "https://aclanthology.org/2024.acl-long.123/": ("acl", "2024.acl-long.123"),
        "https://aclanthology.org/P19-1001.pdf": ("acl", "p19-1001"),
        "https://www.semanticscholar.org/paper/204e3073870fae3d05bcbc2f6a8e263d9b72e776": (
            "s2",
            "204e3073870fae3d05bcbc2f6a8e263d9b72e776",
        ),
    }
    for url, ref in cases.items():
        assert ref_of_link(url) == ref, url
    for url in (
        "https://openreview.net/group?id=ICLR.cc/2025/Conference",
        "https://openreview.net/forum",
        "https://proceedings.mlr.press/v235/",
        "https://proceedings.mlr.press/v235/assets/smith24a/smith24a.pdf",
        "https://aclanthology.org/events/acl-2024/",
        "https://www.semanticscholar.org/search?q=attention",
        "not a url at all",
    ):
        assert ref_of_link(url) is None, url
    twice = ["https://openreview.net/forum?id=HkxYzAb12", "https://openreview.net/pdf?id=HkxYzAb12"]
    assert extract_refs([*twice, None]) == (("openreview", "HkxYzAb12"),)
