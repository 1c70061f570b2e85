"""Bluesky and Mastodon profiles: what users type, then ``sources add`` through ``update``
against their RSS served on loopback (fixtures written from what the two services serve)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlradar import make_radar
from mlradar._config import Settings
from mlradar._connectors import default_registry
from mlradar._connectors.social import BlueskyConnector, MastodonConnector, text_links
from mlradar._identity.venues import openreview_id, pmlr_key, venue_refs
from mlradar.cli import app
from mlradar.exceptions import FetchError, InvalidInputError
from tests.feedserver import serving

FIXTURES = Path(__file__).parent / "fixtures" / "social"
BLUESKY_RSS = (FIXTURES / "bluesky-profile.rss").read_bytes()
MASTODON_RSS = (FIXTURES / "mastodon-profile.rss").read_bytes()
RSS_TYPE = "application/rss+xml; charset=utf-8"


# -- what users type -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "url", "handle"),
    [
        (
            "https://bsky.app/profile/alice.bsky.social",
            "https://bsky.app/profile/alice.bsky.social/rss",
            "@alice.bsky.social",
        ),
        (
            "bsky.app/profile/Alice.BSKY.social/",
            "https://bsky.app/profile/alice.bsky.social/rss",
            "@alice.bsky.social",
        ),
        (
            "https://bsky.app/profile/alice.bsky.social/rss",
            "https://bsky.app/profile/alice.bsky.social/rss",
            "@alice.bsky.social",
        ),
        (
            "bluesky:alice.bsky.social",
            "https://bsky.app/profile/alice.bsky.social/rss",
            "@alice.bsky.social",
        ),
        (
            "https://bsky.app/profile/did:plc:ewvi7nxzyoun6zhxrhs64oiz",
            "https://bsky.app/profile/did:plc:ewvi7nxzyoun6zhxrhs64oiz/rss",
            "@did:plc:ewvi7nxzyoun6zhxrhs64oiz",
        ),
    ],
)
def test_a_bluesky_profile_is_followed_through_its_rss(text: str, url: str, handle: str) -> None:
    spec = BlueskyConnector(Settings()).parse_spec(text)
    assert spec is not None
    assert (spec.kind, spec.url, spec.config["handle"]) == ("bluesky", url, handle)
    assert spec.home_url == url.removesuffix("/rss")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "https://bsky.app/profile/alice.bsky.social/post/3lbq2nyezgk2c",
            "follow a Bluesky profile",
        ),
        ("https://bsky.app/profile/not a handle", "not a Bluesky handle"),
        ("https://bsky.app/", "follow a Bluesky profile"),
    ],
)
def test_a_bluesky_url_that_is_no_profile_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        BlueskyConnector(Settings()).parse_spec(text)


@pytest.mark.parametrize(
    ("text", "url", "handle"),
    [
        ("https://sigmoid.social/@bob", "https://sigmoid.social/@bob.rss", "@bob@sigmoid.social"),
        ("https://Sigmoid.Social/@bob/", "https://sigmoid.social/@bob.rss", "@bob@sigmoid.social"),
        (
            "https://sigmoid.social/@bob.rss",
            "https://sigmoid.social/@bob.rss",
            "@bob@sigmoid.social",
        ),
        ("@bob@sigmoid.social", "https://sigmoid.social/@bob.rss", "@bob@sigmoid.social"),
        ("bob@sigmoid.social", "https://sigmoid.social/@bob.rss", "@bob@sigmoid.social"),
        ("mastodon:@bob@sigmoid.social", "https://sigmoid.social/@bob.rss", "@bob@sigmoid.social"),
        # Another instance's account, seen from mastodon.social: its feed is at its home.
        (
            "https://mastodon.social/@bob@sigmoid.social",
            "https://sigmoid.social/@bob.rss",
            "@bob@sigmoid.social",
        ),
    ],
)
def test_a_mastodon_profile_is_followed_through_its_rss(text: str, url: str, handle: str) -> None:
    spec = MastodonConnector(Settings()).parse_spec(text)
    assert spec is not None
    assert (spec.kind, spec.url, spec.config["handle"]) == ("mastodon", url, handle)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("https://medium.com/@karpathy", "feed"),  # Medium's own feeds, not Mastodon's
        ("https://sigmoid.social/@bob/113580000000000001", "feed"),  # one post, not a profile
        ("https://sigmoid.social/about", "feed"),
        ("https://bsky.app/profile/alice.bsky.social", "bluesky"),
        ("@bob@sigmoid.social", "mastodon"),
    ],
)
def test_the_registry_sends_each_input_to_its_kind(text: str, kind: str) -> None:
    connector, _ = default_registry(Settings(), plugins=False).parse(text)
    assert connector.kind == kind


def test_a_mastodon_spec_that_names_no_profile_is_a_clear_error() -> None:
    with pytest.raises(InvalidInputError, match="give mastodon:@user@instance"):
        MastodonConnector(Settings()).parse_spec("mastodon:bob")


def test_links_written_as_text_are_links_unless_cut_or_bare_names() -> None:
    text = (
        "thanks @alice.bsky.social! arxiv.org/abs/2503.12365 and https://example.org/x. "
        "Slides: huggingface.co/papers/2503.1... (see setup.py)"
    )
    assert text_links(text) == ("https://arxiv.org/abs/2503.12365", "https://example.org/x")


def test_links_to_conference_pages_name_their_papers() -> None:
    assert openreview_id("https://openreview.net/forum?id=SEALz0x1&noteId=abc") == "SEALz0x1"
    assert openreview_id("https://openreview.net/pdf?id=SEALz0x1") == "SEALz0x1"
    assert openreview_id("https://openreview.net/group?id=ICLR.cc/2025/Conference") is None
    assert pmlr_key("https://proceedings.mlr.press/v235/smith24a.html") == "v235/smith24a"
    assert pmlr_key("https://proceedings.mlr.press/v235/smith24a/smith24a.pdf") == "v235/smith24a"
    assert pmlr_key("https://proceedings.mlr.press/v235/") is None
    assert pmlr_key("https://proceedings.mlr.press/v235/assets/x.pdf") is None
    assert venue_refs(
        [
            "https://openreview.net/forum?id=SEALz0x1",
            "https://example.org/",
            "https://openreview.net/pdf?id=SEALz0x1",
            "https://proceedings.mlr.press/v235/smith24a.html",
        ]
    ) == (("openreview", "SEALz0x1"), ("pmlr", "v235/smith24a"))


# -- sources add through update ------------------------------------------------------------------


def _links(radar: object, item_id: int) -> set[str]:
    """The pages an item links, as stored (what stories join on)."""
    from sqlalchemy import text

    storage = radar._storage  # type: ignore[attr-defined]
    with storage.read() as conn:
        rows = conn.execute(
            text("SELECT ref FROM item_refs WHERE item_id = :i AND kind = 'link'"), {"i": item_id}
        )
        return {r.ref for r in rows}


def test_a_bluesky_profile_from_add_to_update(db_url: str) -> None:
    with serving() as server:
        server.add("/profile/alice.bsky.social/rss", BLUESKY_RSS, content_type=RSS_TYPE)
        with make_radar(db_url, allow_private_networks=True, bluesky_url=server.base) as radar:
            source = radar.add_source(server.url("/profile/alice.bsky.social"), tags=["people"])
            assert (source.kind, source.title) == (
                "bluesky",
                "@alice.bsky.social - Alice Researcher",
            )
            assert source.url == server.url("/profile/alice.bsky.social/rss")
            summary = radar.update()
            assert (summary.new, summary.failed) == (3, 0)
            items = {i.key: i for i in radar.items()}
            assert len(items) == 3
            first = next(i for i in items.values() if i.arxiv_ids)
            assert first.arxiv_ids == ("2503.12365",)
            assert first.author == "@alice.bsky.social"
            assert first.title is not None and first.title.startswith("New preprint! HyperKAN")
            assert first.title.endswith("…") and len(first.title) <= 121
            # Its text's link is a link of the post; a link cut for display is none.
            assert "https://arxiv.org/abs/2503.12365" in _links(radar, first.id)
            assert not any("huggingface" in u for i in items.values() for u in _links(radar, i.id))
            # The shortened link of the second post names no paper (and no wrong one).
            assert sum(1 for i in items.values() if i.arxiv_ids) == 1
            # The post is a mention of the paper.
            detail = radar.paper("2503.12365")
            assert [i.id for i in detail.items] == [first.id]
            # Unchanged feed: conditional GET, nothing new.
            again = radar.update(force=True)
            assert (again.new, again.updated) == (0, 0)


def test_a_mastodon_profile_from_add_to_update(db_url: str) -> None:
    with serving() as server:
        server.add("/@bob.rss", MASTODON_RSS, content_type=RSS_TYPE)
        with make_radar(db_url, allow_private_networks=True) as radar:
            source = radar.add_source(server.url("/@bob"))
            assert (source.kind, source.title, source.url) == (
                "mastodon",
                "Bob Watermark",
                server.url("/@bob.rss"),
            )
            summary = radar.update()
            assert (summary.new, summary.failed) == (3, 0)
            by_url = {i.url: i for i in radar.items()}
            seal = by_url["https://sigmoid.social/@bob/113580000000000001"]
            assert seal.arxiv_ids == ("2503.12172",)
            assert seal.title == (
                "Our watermarking paper SEAL is out: https://arxiv.org/abs/2503.12172 #watermarking"
            )
            two = by_url["https://sigmoid.social/@bob/113570000000000002"]
            # The full link behind a shortened display text names the paper.
            assert two.arxiv_ids == ("2503.12365",)
            assert [i.id for i in radar.paper("openreview:SEALz0x1").items] == [two.id]
            assert by_url["https://sigmoid.social/@bob/113560000000000003"].arxiv_ids == ()


def test_a_profile_that_is_gone_is_that_sources_error(db_url: str) -> None:
    with serving() as server:
        route = server.add("/@bob.rss", MASTODON_RSS, content_type=RSS_TYPE)
        with make_radar(db_url, allow_private_networks=True) as radar:
            with pytest.raises(FetchError, match="404"):
                radar.add_source(server.url("/@nobody"))
            radar.add_source(route.removesuffix(".rss"))
            server.add("/@bob.rss", b"gone", status=410, content_type="text/plain")
            summary = radar.update()
            assert summary.failed == 1
            state = radar.source(route).state
            assert state.consecutive_errors == 1
            assert state.last_error is not None and "410" in state.last_error


def test_a_site_with_at_names_that_is_no_mastodon_is_followed_by_its_own_feed(
    db_url: str,
) -> None:
    page = '<html><head><link rel="alternate" type="application/rss+xml" href="/feed/@carol">'
    with serving() as server:
        server.add(
            "/@carol", page + "</head><body>Carol's page</body></html>", content_type="text/html"
        )
        server.add("/feed/@carol", MASTODON_RSS, content_type=RSS_TYPE)
        with make_radar(db_url, allow_private_networks=True) as radar:
            source = radar.add_source(server.url("/@carol"))
            assert (source.kind, source.url) == ("feed", server.url("/feed/@carol"))
            assert radar.update().new == 3


def test_sources_add_and_list_show_the_kinds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLRADAR_ALLOW_PRIVATE_NETWORKS", "1")
    runner = CliRunner()
    db = str(tmp_path / "radar.sqlite")
    with serving() as server:
        server.add("/profile/alice.bsky.social/rss", BLUESKY_RSS, content_type=RSS_TYPE)
        server.add("/@bob.rss", MASTODON_RSS, content_type=RSS_TYPE)
        monkeypatch.setenv("MLRADAR_BLUESKY_URL", server.base)
        for spec in (server.url("/profile/alice.bsky.social"), server.url("/@bob")):
            result = runner.invoke(app, ["--db", db, "sources", "add", spec])
            assert result.exit_code == 0, result.output
        result = runner.invoke(app, ["--db", db, "sources", "list", "--json"])
    assert result.exit_code == 0, result.output
    assert sorted(s["kind"] for s in json.loads(result.output)) == ["bluesky", "mastodon"]
