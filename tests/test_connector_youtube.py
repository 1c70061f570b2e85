"""YouTube: channel URLs, @handles (resolved from the channel page) and playlists become
videos feeds, followed from ``sources add`` through ``update`` on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlradar._connectors.youtube import YouTubeConnector, channel_id_from_page
from mlradar.exceptions import InvalidInputError
from tests.connector_support import core_with, item_refs, settings
from tests.feedserver import FeedServer, serving

FIXTURES = Path(__file__).parent / "fixtures" / "youtube"
CHANNEL = "UCbfYPyITQ-7l4upoX8nvctg"
PLAYLIST = "PLpZBeKTZRGPNKxoNaeMD9GViU_aH_HJab"
ATOM = "application/atom+xml; charset=UTF-8"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def connector(db_url: str, server: FeedServer) -> YouTubeConnector:
    return YouTubeConnector(settings(db_url), base_url=server.base)


def test_the_users_inputs_name_channels_and_playlists(db_url: str) -> None:
    yt = YouTubeConnector(settings(db_url))
    feed = "https://www.youtube.com/feeds/videos.xml?"
    direct = {
        f"https://www.youtube.com/channel/{CHANNEL}": f"{feed}channel_id={CHANNEL}",
        f"https://m.youtube.com/channel/{CHANNEL}/videos": f"{feed}channel_id={CHANNEL}",
        f"youtube.com/channel/{CHANNEL}": f"{feed}channel_id={CHANNEL}",
        f"https://www.youtube.com/playlist?list={PLAYLIST}": f"{feed}playlist_id={PLAYLIST}",
        f"{feed}channel_id={CHANNEL}": f"{feed}channel_id={CHANNEL}",
        f"{feed}playlist_id={PLAYLIST}": f"{feed}playlist_id={PLAYLIST}",
    }
    for text, url in direct.items():
        spec = yt.parse_spec(text)
        assert spec is not None and (spec.kind, spec.url) == ("youtube", url), text
    # Handles and custom URLs need the channel page: resolved when added.
    for text, page in {
        "@TwoMinutePapers": "https://www.youtube.com/@TwoMinutePapers",
        "youtube.com/@TwoMinutePapers": "https://www.youtube.com/@TwoMinutePapers",
        "https://www.youtube.com/@TwoMinutePapers/videos": "https://www.youtube.com/@TwoMinutePapers",
        "https://www.youtube.com/c/YannicKilcher": "https://www.youtube.com/c/YannicKilcher",
    }.items():
        spec = yt.parse_spec(text)
        assert spec is not None and spec.url == page and "channel_id" not in spec.config, text
    assert yt.parse_spec("@user@mastodon.social") is None  # a Mastodon account
    assert yt.parse_spec("https://example.org/@someone") is None
    with pytest.raises(InvalidInputError, match="give a YouTube channel URL"):
        yt.parse_spec("https://www.youtube.com/watch?v=abcDEF12345")


def test_the_channel_id_is_read_from_the_page() -> None:
    assert channel_id_from_page(fixture("channel-page.html")) == CHANNEL
    assert (
        channel_id_from_page(fixture("channel-page-json-only.html")) == "UCZHmQk67mSJgfCCTn7xBfew"
    )
    assert channel_id_from_page(b"<html><title>Consent</title></html>") is None
    assert channel_id_from_page(b"") is None


def test_a_handle_is_resolved_once_then_its_feed_is_followed(db_url: str) -> None:
    with serving() as server:
        server.add("/@TwoMinutePapers", fixture("channel-page.html"), content_type="text/html")
        feed_path = f"/feeds/videos.xml?channel_id={CHANNEL}"
        server.add(feed_path, fixture("channel-videos.xml"), content_type=ATOM)
        with core_with(db_url, connector(db_url, server)) as core:
            radar = core.for_user(core.ensure_user("default"))
            source = radar.add_source("@TwoMinutePapers", tags=["video"])
            assert (source.kind, source.url, source.title) == (
                "youtube",
                server.url(feed_path),
                "Two Minute Papers",
            )
            assert [s.kind for s in radar.sources()] == ["youtube"]
            summary = radar.update()
            assert (summary.new, summary.failed) == (2, 0)
            radar.update(force=True)  # a conditional GET; the page is not read again
            assert len(server.seen("/@TwoMinutePapers")) == 1
            assert len(server.seen(feed_path)) == 3  # resolve, update, update (304)

            by_url = {i.url: i for i in radar.items()}
            video = by_url["https://www.youtube.com/watch?v=abcDEF12345"]
            assert video.source_kind == "youtube"
            assert set(video.arxiv_ids) == {"2503.11677", "2502.01234"}
            assert ("link", "https://arxiv.org/abs/2503.11677") in item_refs(db_url, video.id)
            other = by_url["https://www.youtube.com/watch?v=zzzYYY98765"]
            assert "<script" not in (other.summary_html or "")
            # Adding the channel by its URL finds the same subscription.
            with pytest.raises(ValueError, match="already subscribed"):
                radar.add_source(server.url(f"/channel/{CHANNEL}"))


def test_a_playlist_is_followed_and_its_bare_links_are_mentions(db_url: str) -> None:
    with serving() as server:
        feed_path = f"/feeds/videos.xml?playlist_id={PLAYLIST}"
        server.add(feed_path, fixture("playlist-videos.xml"), content_type=ATOM)
        with core_with(db_url, connector(db_url, server)) as core:
            radar = core.for_user(core.ensure_user("default"))
            source = radar.add_source(server.url(f"/playlist?list={PLAYLIST}"))
            assert (source.kind, source.title) == ("youtube", "Neural networks")
            assert radar.update().new == 1
            (video,) = radar.items()
            refs = item_refs(db_url, video.id)
            assert ("openreview", "HkxYzAb12") in refs
            assert ("link", "http://neuralnetworksanddeeplearning.com/") in refs


def test_a_page_without_a_channel_id_is_a_clear_error(db_url: str) -> None:
    with serving() as server:
        server.add(
            "/@nobody", "<html><title>Before you continue</title></html>", content_type="text/html"
        )
        with core_with(db_url, connector(db_url, server)) as core:
            radar = core.for_user(core.ensure_user("default"))
            with pytest.raises(ValueError, match="the channel page names no channel id"):
                radar.add_source("@nobody")
            assert radar.sources() == []


def test_a_handle_added_without_resolving_is_resolved_on_its_first_fetch(db_url: str) -> None:
    with serving() as server:
        server.add("/@TwoMinutePapers", fixture("channel-page.html"), content_type="text/html")
        feed_path = f"/feeds/videos.xml?channel_id={CHANNEL}"
        server.add(feed_path, fixture("channel-videos.xml"), content_type=ATOM)
        with core_with(db_url, connector(db_url, server)) as core:
            radar = core.for_user(core.ensure_user("default"))
            source = radar.add_source("@TwoMinutePapers", discover=False)
            assert source.kind == "youtube" and not server.requests
            assert radar.update().new == 2
            assert radar.update(force=True).failed == 0
            assert len(server.seen("/@TwoMinutePapers")) == 1  # kept in the state
            assert len(server.seen(feed_path)) == 2
