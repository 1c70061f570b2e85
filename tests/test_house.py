"""The seams: connectors as plug-ins, faults confined to their source, one core with a view
per user, and sync calls that work inside an event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

import pytest

from mlradar import RadarCore, make_radar
from mlradar._config import Settings
from mlradar._connectors import (
    FetchContext,
    FetchResult,
    ResolveContext,
    SourceRef,
    SourceSpec,
    default_registry,
)
from mlradar._fetch import HostPolicy
from mlradar._identity import content_hash
from mlradar._model import DiscussionSignal, ParsedEntry
from mlradar.exceptions import NotFoundError, RadarError, SourceExistsError, UserExistsError
from tests.feedserver import serving

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>
<item><title>{title} post</title><link>https://{host}/1</link><guid>{host}-1</guid>
<description>About zebracorns, see https://arxiv.org/abs/2501.00001</description></item>
</channel></rss>"""


# -- a connector that lives only in this test: one class, one mount line -----------------------


class EchoConnector:
    """``echo:WORD`` sources: each fetch returns one entry about WORD, with points."""

    kind = "echo"
    label = "Echo"

    def __init__(self) -> None:
        self.fetches: list[SourceRef] = []

    def parse_spec(self, text: str) -> SourceSpec | None:
        if not text.startswith("echo:"):
            return None
        return SourceSpec(self.kind, text, title=f"Echo of {text[5:]}", config={"n": 1})

    async def resolve(self, spec: SourceSpec, ctx: ResolveContext) -> SourceSpec:
        return spec

    def policies(self, settings: Settings) -> Mapping[str, HostPolicy]:
        return {}

    async def fetch(self, source: SourceRef, ctx: FetchContext) -> FetchResult:
        self.fetches.append(source)
        word = source.url[5:]
        if word == "boom":
            raise KeyError("score")  # what a connector's bug looks like
        runs = int(source.state.get("runs", 0)) + 1
        text = await ctx.run_cpu(str.upper, word)
        entry = ParsedEntry(
            key=f"id:{word}",
            url=f"https://echo.example/{word}",
            link=f"https://echo.example/{word}",
            title=f"{text} story",
            author=None,
            summary_html=None,
            content_html=None,
            text=f"a story about {word}",
            categories=(),
            published_at=datetime(2025, 5, 1, tzinfo=UTC),
            updated_at=None,
            arxiv_ids=(),
            dois=(),
            content_hash=content_hash([word]),
            discussion=DiscussionSignal(points=10 * runs, comments=runs),
        )
        return FetchResult((entry,), state={"runs": runs})


@pytest.fixture
def echo() -> EchoConnector:
    return EchoConnector()


@pytest.fixture
def core(db_url: str, echo: EchoConnector) -> Iterator[RadarCore]:
    settings = Settings(database_url=db_url, allow_private_networks=True)
    registry = default_registry(settings, plugins=False)
    registry.mount(echo)  # the one line a new source kind needs
    with RadarCore.open(db_url, registry=registry, allow_private_networks=True) as c:
        yield c


def test_a_new_source_kind_is_one_connector_and_one_mount(
    core: RadarCore, echo: EchoConnector
) -> None:
    radar = core.for_user(core.ensure_user("default"))
    source = radar.add_source("echo:zebra", tags=["fun"])
    assert (source.kind, source.title, source.tags) == ("echo", "Echo of zebra", ("fun",))
    first = radar.update()
    assert (first.new, first.failed) == (1, 0)
    item = radar.items()[0]
    assert (item.title, item.source_kind, item.points, item.comments) == (
        "ZEBRA story",
        "echo",
        10,
        1,
    )
    # The connector's state comes back on the next fetch; points move, content does not.
    second = radar.update(force=True)
    assert (second.new, second.updated, second.unchanged) == (0, 0, 1)
    assert echo.fetches[-1].state == {"runs": 1}
    assert echo.fetches[-1].config == {"n": 1}
    assert radar.items()[0].points == 20


def test_an_unexpected_exception_in_a_connector_is_that_sources_error(
    core: RadarCore, echo: EchoConnector
) -> None:
    radar = core.for_user(core.ensure_user("default"))
    radar.add_source("echo:boom")
    radar.add_source("echo:calm")
    summary = radar.update()
    by_url = {s.url: s for s in summary.sources}
    assert by_url["echo:calm"].new == 1
    assert by_url["echo:boom"].error == "unexpected KeyError: 'score'"
    failing = radar.source("echo:boom").state
    assert (failing.consecutive_errors, failing.last_error) == (1, "unexpected KeyError: 'score'")
    assert radar.source("echo:calm").state.consecutive_errors == 0


def test_a_spec_no_connector_takes_is_a_clear_error(core: RadarCore) -> None:
    radar = core.for_user(core.ensure_user("default"))
    with pytest.raises(ValueError, match="not a source mlradar can follow"):
        radar.add_source("nonsense without dots")
    with pytest.raises(ValueError, match="only http and https"):
        radar.add_source("ftp://example.org/feed")


@pytest.mark.parametrize("text", ["[", "http://[::1", "https://[nope]/feed"])
def test_a_malformed_url_is_a_clear_error_whichever_connector_reads_it(
    core: RadarCore, text: str
) -> None:
    radar = core.for_user(core.ensure_user("default"))
    with pytest.raises(ValueError, match=r"not a well-formed source|not a source"):
        radar.add_source(text)
    assert radar.sources() == []


def test_a_connector_whose_spec_parser_crashes_is_a_radar_error(
    db_url: str, echo: EchoConnector
) -> None:
    class Broken(EchoConnector):
        kind = "broken"

        def parse_spec(self, text: str) -> SourceSpec | None:
            raise KeyError(text)

    settings = Settings(database_url=db_url, allow_private_networks=True)
    registry = default_registry(settings, plugins=False)
    registry.mount(Broken())
    with RadarCore.open(db_url, registry=registry, allow_private_networks=True) as c:
        radar = c.for_user(c.ensure_user("default"))
        with pytest.raises(RadarError, match="the broken connector failed to read"):
            radar.add_source("https://example.org/feed.xml")


# -- one core, a view per user ---------------------------------------------------------------


def test_two_users_keep_separate_subscriptions_tags_likes_and_paths(db_url: str) -> None:
    with serving() as server:
        feed = server.add("/feed.xml", RSS.format(title="Blog", host="blog.example"))
        with RadarCore.open(db_url, allow_private_networks=True) as core:
            ada = core.for_user(core.add_user("ada"))
            bob = core.for_user(core.add_user("bob"))
            with pytest.raises(UserExistsError):
                core.add_user("ada")
            a = ada.add_source(feed, name="Ada's blog", tags=["reading"])
            assert bob.sources() == []
            b = bob.add_source(feed, name="Bob's")
            assert a.id == b.id  # one source, shared: fetched once for both
            with pytest.raises(SourceExistsError):
                ada.add_source(feed)
            ada.update()
            # Ada's add looked the feed up; Bob's found it stored; one update fetched it.
            assert len(server.seen("/feed.xml")) == 2
            # Bob sees the items his subscription brings, under his name for it.
            assert [i.source_name for i in bob.items()] == ["Bob's"]
            assert [i.source_name for i in ada.items()] == ["Ada's blog"]
            assert bob.source(b.id).tags == ()

            ada.tag("zoo", ["2501.00001"])
            ada.like(["2501.00002"])
            assert [t.tag for t in ada.tags()] == ["zoo"]
            assert bob.tags() == []
            assert bob.library() == []
            ada.load_catalog()
            step = ada.learning_path(level="beginner").steps[0]
            ada.mark_done(step.slug)
            assert ada.learning_path(level="beginner").steps[0].done
            assert not bob.learning_path(level="beginner").steps[0].done
            assert ada.stats().tags == 2 and bob.stats().tags == 0

            # Ada leaves: Bob keeps the source and its items.
            ada.remove_source(a.id)
            assert ada.sources() == []
            assert bob.source(b.id).item_count == 1
            assert core.stats().sources == 1
            core.remove_user("bob")
            assert core.stats().sources == 0


def test_a_view_is_cheap_and_an_unknown_user_fails_on_first_use(db_url: str) -> None:
    with RadarCore.open(db_url) as core:
        ghost = core.for_user("ghost")  # no I/O: nothing to fail yet
        assert ghost.user == "ghost"
        with pytest.raises(NotFoundError, match="no user named 'ghost'"):
            ghost.tags()
        # A view made from a user record needs no lookup at all.
        real = core.add_user("real")
        assert core.for_user(real).tags() == []


def test_views_share_the_cores_caches(db_url: str) -> None:
    with RadarCore.open(db_url) as core:
        one = core.for_user(core.add_user("one"))
        two = core.for_user(core.add_user("two"))
        one._profile_cache = {"k": "v"}  # type: ignore[dict-item]
        assert two._profile_cache == {"k": "v"}


def test_sync_calls_work_inside_a_running_event_loop(db_url: str) -> None:
    with serving() as server:
        feed = server.add("/feed.xml", RSS.format(title="Loop", host="loop.example"))
        with make_radar(db_url, allow_private_networks=True) as radar:

            async def handler() -> int:
                # A web server's handler calling the sync API must not hit
                # "asyncio.run() cannot be called from a running event loop".
                radar.add_source(feed)
                return radar.update().new

            assert asyncio.run(handler()) == 1


def test_the_fetcher_factory_reroutes_every_request(db_url: str) -> None:
    made: list[Mapping[str, HostPolicy]] = []

    def factory(settings: Settings, policies: Mapping[str, HostPolicy]):  # type: ignore[no-untyped-def]
        from mlradar._fetch import Fetcher

        made.append(policies)
        return Fetcher(settings, policies=policies)

    with serving() as server:
        feed = server.add("/feed.xml", RSS.format(title="F", host="f.example"))
        with make_radar(db_url, allow_private_networks=True, fetcher_factory=factory) as radar:
            radar.add_source(feed)
            radar.add_source("arxiv:cs.LG", discover=False)
            radar.update([radar.source(feed).id])
    assert len(made) == 2  # resolving the feed, then the update
    assert made[-1] == {}  # a feed-only run asks for no arXiv politeness
