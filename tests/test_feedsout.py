"""Feeds out: every list view is an Atom feed that feedparser reads without a complaint,
hostile feed text included; private feeds open with a revocable per-user token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import feedparser
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from mlradar._feedsout import build_atom, parse_view
from mlradar._feedsout.atom import OutEntry
from mlradar._radar import Radar, make_radar
from mlradar.cli import app
from mlradar.exceptions import (
    FeedTokenError,
    InvalidInputError,
    NotFoundError,
    SourceNotFoundError,
)
from mlradar.types import FeedView
from tests.digest_support import SINCE, UNTIL, fill


@pytest.fixture
def radar(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Radar:
    r = make_radar(db_url, embedding_model="none-installed-model-xyz")
    fill(r, monkeypatch)
    return r


def parsed(data: bytes) -> Any:
    feed = feedparser.parse(data)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    return feed


VIEWS = [
    FeedView("new"),
    FeedView("for-you"),
    FeedView("discussed"),
    FeedView("tag", "diffusion"),
    FeedView("search", "denoising"),
    FeedView("source", "Zebra Blog"),
    FeedView("digest"),
]


@pytest.mark.parametrize("view", VIEWS, ids=str)
def test_every_view_is_an_atom_feed_feedparser_reads_cleanly(radar: Radar, view: FeedView) -> None:
    feed = parsed(radar.atom_feed(view))
    assert feed.feed.title.startswith("mlradar: ")
    # (The fixture's stories are older than the last week that "discussed" shows.)
    assert feed.entries or view.kind == "discussed", f"{view} is empty"
    ids = [e.id for e in feed.entries]
    assert len(set(ids)) == len(ids)  # readers dedupe by id
    for e in feed.entries:
        assert e.title and e.updated_parsed is not None


def test_what_each_view_holds(radar: Radar, monkeypatch: pytest.MonkeyPatch) -> None:
    tag = parsed(radar.atom_feed(FeedView("tag", "diffusion")))
    assert {e.link for e in tag.entries} == {
        "https://arxiv.org/abs/2505.00001",
        "https://arxiv.org/abs/2505.00002",
    }
    source = parsed(radar.atom_feed(FeedView("source", "Zebra Blog")))
    assert {e.title for e in source.entries} >= {"Notes on denoising", "Long ago"}
    for_you = parsed(radar.atom_feed(FeedView("for-you")))
    assert all(e.summary.startswith("Why: ") for e in for_you.entries)
    saved = radar.save_digest(radar.digest(since=SINCE, until=UNTIL))
    digest = parsed(radar.atom_feed(FeedView("digest", str(saved.id))))
    assert any(e.title == "A loud story" for e in digest.entries)
    assert digest.feed.title == f"mlradar: digest {SINCE} to {UNTIL}"


def test_discussed_is_the_last_weeks(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime, timedelta

    from mlradar._model import FetchState
    from tests.digest_support import entry

    r = make_radar(db_url, embedding_model="none-installed-model-xyz")
    news = r._storage.add_source(r._user_id, "echo:news", "hackernews", name="HN")
    now = datetime.now(UTC)
    r._storage.store_entries(
        news.id,
        [
            entry("a", "Talked about", now - timedelta(days=1), points=50, comments=9),
            entry("b", "Talked about more", now - timedelta(days=2), points=90, comments=40),
            entry("c", "Old news", now - timedelta(days=30), points=900, comments=400),
        ],
        FetchState(now, 200, None, now),
    )
    feed = parsed(r.atom_feed(FeedView("discussed")))
    assert [e.title for e in feed.entries] == ["Talked about more", "Talked about"]


def test_hostile_feed_text_is_carried_safely(radar: Radar) -> None:
    feed = parsed(radar.atom_feed(FeedView("source", "Zebra Blog")))
    hostile = next(e for e in feed.entries if e.title.startswith("Pwn"))
    assert "\x01" not in hostile.title and "<script>" in hostile.title  # text, escaped
    content = hostile.content[0].value
    assert "<script" not in content and "onerror" not in content and "onclick" not in content
    assert "javascript:" not in content


def test_build_atom_drops_what_xml_cannot_carry() -> None:
    from datetime import datetime

    data = build_atom(
        feed_id="tag:mlradar,2026:test",
        title="t\x00\x1f\ud800",
        entries=[
            OutEntry(
                id="tag:mlradar,2026:item/1",
                title="\x0bbad\x07 title",
                updated=datetime(2025, 1, 1),
                link="javascript:alert(1)",
                summary="\x00sum",
                author="\x01",
                categories=("\x02", "ok"),
            )
        ],
    )
    feed = parsed(data)
    (e,) = feed.entries
    assert (e.title, e.summary, [t.term for t in e.tags]) == ("bad title", "sum", ["ok"])
    assert "links" not in e or all(not x.href.startswith("javascript") for x in e.links)


def test_bad_views_are_one_line_errors(radar: Radar) -> None:
    with pytest.raises(InvalidInputError, match="unknown feed view"):
        radar.atom_feed(FeedView("nope"))  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="needs an argument"):
        parse_view("tag")
    with pytest.raises(InvalidInputError, match="takes no argument"):
        parse_view("new", "x")
    with pytest.raises(InvalidInputError, match="digest id"):
        parse_view("digest", "latest")
    with pytest.raises(SourceNotFoundError):
        radar.atom_feed(FeedView("source", "nobody follows this"))
    with pytest.raises(NotFoundError):
        radar.atom_feed(FeedView("digest", "999"))


# -- private feeds ----------------------------------------------------------------------------


def test_a_token_opens_its_users_feeds_until_revoked(radar: Radar) -> None:
    core = radar.core
    made = radar.create_feed_token(label="reader")
    assert made.secret.startswith("mlrf_") and len(made.secret) > 40
    # Only its hash is stored.
    with radar._storage.read() as conn:
        stored = [tuple(r) for r in conn.execute(sa.text("SELECT * FROM feed_tokens"))]
    assert made.secret not in repr(stored)
    view, scope = core.radar_for_feed_token(made.secret)
    assert (view.user, scope) == ("default", None)
    assert radar.feed_tokens()[0].last_used_at is not None
    parsed(core.atom_feed_for_token(made.secret, FeedView("tag", "diffusion")))
    radar.revoke_feed_token(made.token.id)
    assert not radar.feed_tokens()[0].active
    with pytest.raises(FeedTokenError):
        core.radar_for_feed_token(made.secret)
    with pytest.raises(FeedTokenError):
        core.radar_for_feed_token("mlrf_guessed")
    with pytest.raises(FeedTokenError):
        core.radar_for_feed_token("")


def test_a_scoped_token_opens_one_view_only(radar: Radar) -> None:
    made = radar.create_feed_token(FeedView("tag", "diffusion"))
    core = radar.core
    parsed(core.atom_feed_for_token(made.secret, FeedView("tag", "diffusion")))
    parsed(core.atom_feed_for_token(made.secret, FeedView("TAG", " diffusion ")))  # type: ignore[arg-type]
    with pytest.raises(FeedTokenError, match="does not open this feed"):
        core.atom_feed_for_token(made.secret, FeedView("tag", "other"))
    with pytest.raises(FeedTokenError, match="does not open this feed"):
        core.atom_feed_for_token(made.secret, FeedView("new"))


def test_tokens_and_feeds_are_per_user(radar: Radar) -> None:
    core = radar.core
    bob = core.for_user(core.add_user("bob"))
    mine = radar.create_feed_token()
    assert bob.feed_tokens() == []
    with pytest.raises(NotFoundError):
        bob.revoke_feed_token(mine.token.id)
    assert radar.feed_tokens()[0].active
    # Bob's token is Bob's view: Alice's source and tags are not his.
    his = bob.create_feed_token()
    view, _scope = core.radar_for_feed_token(his.secret)
    assert view.user == "bob"
    with pytest.raises(SourceNotFoundError):
        core.atom_feed_for_token(his.secret, FeedView("source", "Zebra Blog"))
    assert parsed(core.atom_feed_for_token(his.secret, FeedView("tag", "diffusion"))).entries == []
    assert parsed(core.atom_feed_for_token(his.secret, FeedView("new"))).entries == []


def test_cli_feeds_atom_and_tokens(radar: Radar, db_url: str) -> None:
    runner = CliRunner()
    out = runner.invoke(app, ["--db", db_url, "feeds", "atom", "tag", "diffusion"])
    assert out.exit_code == 0, out.output
    assert len(parsed(out.stdout_bytes).entries) == 2
    made = runner.invoke(app, ["--db", db_url, "feeds", "token", "create", "new"])
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip()
    assert secret.startswith("mlrf_")
    listed = runner.invoke(app, ["--db", db_url, "feeds", "token", "list", "--json"])
    assert '"kind": "new"' in listed.stdout and secret not in listed.stdout
    revoked = runner.invoke(app, ["--db", db_url, "feeds", "token", "revoke", "1"])
    assert revoked.exit_code == 0 and "revoked feed token 1" in revoked.stdout
    bad = runner.invoke(app, ["--db", db_url, "feeds", "atom", "bogus"])
    assert bad.exit_code == 1 and "unknown feed view" in bad.output


def test_real_feeds_come_back_out_as_clean_atom(shared_data: Path, db_url: str) -> None:
    """Real blogs and lab feeds (their HTML, entities, odd dates) in, Atom out: every view
    parses without a complaint."""
    from tests.feedserver import serving

    feeds = shared_data / "feeds"
    picks = [
        "blogs/lilianweng/index.xml",
        "blogs/colah/rss.xml",
        "blogs/offconvex/_site/feed.xml",
        "blogs/jakevdp/feeds/all.atom.xml",
        *sorted(str(p.relative_to(feeds)) for p in (feeds / "labs").rglob("*.xml"))[:8],
    ]
    with serving() as server:
        r = make_radar(
            db_url,
            allow_private_networks=True,
            total_timeout=30.0,
            embedding_model="none-installed-model-xyz",
        )
        for rel in picks:
            r.add_source(server.add("/" + rel, (feeds / rel).read_bytes()), discover=False)
        summary = r.update()
    assert summary.failed == 0 and summary.new > 100
    total = 0
    for view in [FeedView("new"), FeedView("search", "learning"), FeedView("digest")] + [
        FeedView("source", str(s.id)) for s in r.sources()
    ]:
        feed = parsed(r.atom_feed(view))
        total += len(feed.entries)
        for e in feed.entries:
            for c in e.get("content", []):
                assert "<script" not in c.value.lower()
    assert total > 100
    r.close()
