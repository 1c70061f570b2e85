"""The user's library through the facade and the CLI: tags, reactions, reads,
recommendations with reasons, related papers, per-user isolation, bad input."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from mlradar._model import FetchState, ParsedEntry
from mlradar._papers import store_papers
from mlradar._radar import Radar, make_radar
from mlradar._radar._index import rank_dir_for
from mlradar._radar._recommend import LIKE_THRESHOLD_LEXICAL
from mlradar._rank.index import author_columns, profile_of
from mlradar.cli import _common
from mlradar.cli import library as library_cli
from mlradar.exceptions import InvalidInputError, NotFoundError
from mlradar.types import Paper

TOPICS = {
    "diffusion": "diffusion model denoising image generation sampler guidance",
    "speech": "speech recognition acoustic audio transcription spoken",
    "robots": "robot manipulation grasping policy dexterous arm",
}
START = date(2025, 5, 1)


def make_papers() -> list[Paper]:
    papers = []
    n = 0
    for day in range(4):
        for topic, words in TOPICS.items():
            for k in range(3):
                n += 1
                vocab = words.split()
                title = f"{vocab[k]} {vocab[(k + day) % len(vocab)]} study {n}"
                abstract = " ".join(vocab[(k + j) % len(vocab)] for j in range(12))
                papers.append(
                    Paper(
                        arxiv_id=f"2505.{n:05d}",
                        title=title.title(),
                        authors=("A. Author",),
                        categories=("cs.LG",),
                        abstract=f"We study {topic}: {abstract}.",
                        first_version_at=START + timedelta(days=day),
                        updated_at=START + timedelta(days=day),
                    )
                )
    return papers


@pytest.fixture
def radar(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Radar:
    r = make_radar(db_url, embedding_model="none-installed-model-xyz")
    store_papers(r._storage, make_papers())
    r.sync_rank_index()  # as the writers of papers do; reads never sync
    # The digest's clock: the day after the newest paper.
    monkeypatch.setattr(type(r), "_today", staticmethod(lambda: START + timedelta(days=4)))
    return r


def topic_of(radar: Radar, arxiv_id: str) -> str:
    paper = radar._storage.get_paper(arxiv_id)
    assert paper is not None
    return paper.abstract.split(":")[0].removeprefix("We study ")


def test_tags_add_remove_list_and_count(radar: Radar) -> None:
    assert radar.tag("gen", ["2505.00001", "arXiv:2505.00002v3", "2505.00001"]) == 2
    assert radar.tag("gen", ["2505.00001"]) == 0
    assert [(t.tag, t.count) for t in radar.tags()] == [("gen", 2)]
    entries = radar.library("gen")
    assert [e.ref for e in entries] == ["2505.00001", "2505.00002"]
    assert entries[0].title
    assert entries[0].tags == ("gen",)
    assert radar.untag("gen", ["2505.00002"]) == 1
    assert radar.untag("gen") == 1
    assert radar.tags() == []
    with pytest.raises(NotFoundError):
        radar.untag("gen")


def test_bad_ids_and_tags_are_one_line_errors(radar: Radar) -> None:
    with pytest.raises(InvalidInputError):
        radar.tag("gen", ["not-an-id"])
    with pytest.raises(InvalidInputError):
        radar.tag("two words", ["2505.00001"])
    with pytest.raises(NotFoundError):
        radar.like(["999999"])  # an item id that does not exist
    with pytest.raises(InvalidInputError):
        radar.tag("gen", [])
    assert radar.tags() == []  # nothing half-stored


def test_reactions_and_reads_are_per_user(radar: Radar, db_url: str) -> None:
    radar.like(["2505.00001"])
    radar.dismiss(["2505.00004"])
    radar.mark_read(["2505.00005"])
    other = make_radar(db_url, user="bob")
    assert other.library() == []
    mine = {e.ref: e for e in radar.library()}
    assert mine["2505.00001"].reaction == "like"
    assert mine["2505.00004"].reaction == "dismiss"
    radar.like(["2505.00004"])  # the last reaction wins
    assert {e.ref: e.reaction for e in radar.library()}["2505.00004"] == "like"
    radar.clear_reaction(["2505.00004"])
    assert "2505.00004" not in {e.ref for e in radar.library()}


def test_recommend_learns_the_tagged_topic_and_explains_itself(radar: Radar) -> None:
    # Tag the first day's diffusion papers; the later days' diffusion papers must lead.
    radar.tag("gen", ["2505.00001", "2505.00002", "2505.00003"])
    recs = radar.recommend(tag="gen", since=START + timedelta(days=1), limit=5)
    assert len(recs) == 5
    assert [topic_of(radar, r.arxiv_id or "") for r in recs[:3]] == ["diffusion"] * 3
    for r in recs:
        assert r.kind == "paper"
        assert r.arxiv_id
        assert r.title
        assert r.reason
        assert r.date is not None
        assert r.date >= START + timedelta(days=1)
    top = recs[0]
    assert top.similar_to
    assert top.similar_to[0] in {"2505.00001", "2505.00002", "2505.00003"}
    assert top.similarity is not None and top.similarity >= 0.5
    assert f"like {top.similar_to[0]}" in top.reason and "(you tagged it;" in top.reason
    assert top.terms and len(top.term_weights) == len(top.terms)
    assert top.term_weights == tuple(sorted(top.term_weights, reverse=True))
    assert f"{top.terms[0]} {top.term_weights[0]:.0%}" in top.reason
    # Every channel's contribution is kept, and they add up to the score.
    channels = dict(top.contributions)
    assert {"lexical", "lexical_linear", "authors", "discussion", "recency"} <= set(channels)
    assert sum(channels.values()) == pytest.approx(top.score, abs=1e-3)
    assert recs == sorted(recs, key=lambda r: -r.score)


def test_like_x_is_said_only_when_the_similarity_is_high(radar: Radar) -> None:
    radar.tag("gen", ["2505.00001"])
    recs = radar.recommend(tag="gen", since=START, limit=36)
    for r in recs:
        assert r.similarity is not None
        if "like 2505.00001" in r.reason:
            assert r.similarity >= LIKE_THRESHOLD_LEXICAL
        else:
            assert r.similarity < LIKE_THRESHOLD_LEXICAL
    assert any("like 2505.00001" not in r.reason for r in recs)  # other topics: not "like"


def test_recommend_excludes_tagged_dismissed_and_read(radar: Radar) -> None:
    radar.tag("gen", ["2505.00001"])
    diffusion_later = ["2505.00010", "2505.00011", "2505.00012"]
    radar.dismiss([diffusion_later[0]])
    radar.mark_read([diffusion_later[1]])
    ids = {r.arxiv_id for r in radar.recommend(since=START, limit=50)}
    assert "2505.00001" not in ids
    assert diffusion_later[0] not in ids
    assert diffusion_later[1] not in ids
    assert diffusion_later[2] in ids


def test_dismissals_push_a_topic_down(radar: Radar) -> None:
    radar.like(["2505.00001", "2505.00004"])  # diffusion and speech
    before = [topic_of(radar, r.arxiv_id or "") for r in radar.recommend(since=START, limit=6)]
    radar.dismiss(["2505.00005", "2505.00006", "2505.00013", "2505.00014"])  # speech
    after = [topic_of(radar, r.arxiv_id or "") for r in radar.recommend(since=START, limit=6)]
    assert after.count("speech") < before.count("speech")


def test_default_window_is_new_since_the_last_digest(
    radar: Radar, monkeypatch: pytest.MonkeyPatch
) -> None:
    radar.tag("gen", ["2505.00001"])
    window = radar.digest_window()
    assert (window.since, window.until) == (START - timedelta(days=2), START + timedelta(days=4))
    assert window.has_new
    first = radar.recommend(limit=50)  # first digest: the last week
    assert len(first) == len(make_papers()) - 1
    # Showing a digest moves nothing: the same digest until it is marked as sent.
    assert radar.recommend(limit=50) == first
    radar.mark_digest_sent(window=(window.since, window.until))
    assert radar.recommend(limit=50) == first  # sent today: that digest again
    monkeypatch.setattr(type(radar), "_today", staticmethod(lambda: START + timedelta(days=9)))
    assert radar.recommend(limit=50) == []  # nothing new since
    store_papers(
        radar._storage,
        [
            Paper(
                arxiv_id="2505.09999",
                title="Diffusion Sampler Guidance",
                authors=("B. Author",),
                categories=("cs.CV",),
                abstract="We study diffusion: diffusion model denoising sampler guidance.",
                first_version_at=START + timedelta(days=9),
                updated_at=None,
            )
        ],
    )
    assert radar.recommend(limit=50) == []  # not indexed yet: reads never sync
    assert radar.rank_index_behind()
    radar.sync_rank_index()
    assert not radar.rank_index_behind()
    second = radar.recommend(limit=50)
    assert [r.arxiv_id for r in second] == ["2505.09999"]
    radar.mark_digest_sent(window=(START + timedelta(days=5), START + timedelta(days=9)))
    again = radar.recommend(limit=50)  # nothing newer: the last digest again
    assert [r.arxiv_id for r in again] == ["2505.09999"]
    with pytest.raises(InvalidInputError):
        radar.mark_digest_sent(window=(START, START - timedelta(days=1)))


def test_a_digest_with_nothing_new_offers_the_newest_papers(
    radar: Radar, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # After a snapshot import every paper predates the window: say so, offer the newest.
    monkeypatch.setattr(type(radar), "_today", staticmethod(lambda: START + timedelta(days=60)))
    radar.tag("gen", ["2505.00001"])
    window = radar.digest_window()
    assert not window.has_new
    assert window.newest == START + timedelta(days=3)
    assert radar.recommend(limit=5) == []
    assert radar.newest_window() == (START - timedelta(days=3), START + timedelta(days=3))
    runner, app = cli(db_url)
    result = runner.invoke(app, ["recommend", "-n", "3", "--json"])
    assert result.exit_code == 0, result.output
    assert "nothing new from 2025-06-24 to 2025-06-30" in result.stderr
    assert "the newest papers in the corpus instead" in " ".join(result.stderr.split())
    recs = json.loads(result.stdout)
    assert len(recs) == 3
    assert all(r["date"] >= "2025-04-28" for r in recs)


def test_recommend_without_feedback_says_what_to_do(radar: Radar) -> None:
    with pytest.raises(InvalidInputError, match="tag or like"):
        radar.recommend()
    with pytest.raises(NotFoundError):
        radar.recommend(tag="nothing")
    with pytest.raises(InvalidInputError):
        radar.recommend(limit=0)


def test_related_returns_the_same_topic(radar: Radar) -> None:
    related = radar.related("2505.00007", limit=4)  # a robots paper
    assert [topic_of(radar, r.arxiv_id or "") for r in related[:3]] == ["robots"] * 3
    assert "2505.00007" not in {r.arxiv_id for r in related}
    with pytest.raises(NotFoundError):
        radar.related("2401.00001")


def test_items_can_be_tagged_and_recommended(radar: Radar) -> None:
    source = radar._storage.add_source(
        radar._user_id, "https://blog.example/feed.xml", "feed", name="Blog"
    )
    now = datetime(2025, 5, 3, tzinfo=UTC)
    entries = [
        ParsedEntry(
            key=f"id:{i}",
            url=f"https://blog.example/{i}",
            link=None,
            title=title,
            author=None,
            summary_html=None,
            content_html=None,
            text=text,
            categories=(),
            published_at=now,
            updated_at=None,
            arxiv_ids=(),
            dois=(),
            content_hash=str(i),
        )
        for i, (title, text) in enumerate(
            [
                ("Robots that grasp", "robot manipulation grasping dexterous arm policy"),
                ("Cooking notes", "recipes for bread and soup with butter"),
            ]
        )
    ]
    radar._storage.store_entries(source.id, entries, FetchState(now, 200, None, now))
    radar.sync_rank_index()
    radar.tag("robots", ["2505.00007", "2505.00008"])
    recs = radar.recommend(tag="robots", since=START, limit=30)
    kinds = {(r.kind, r.title) for r in recs}
    assert ("item", "Robots that grasp") in kinds
    item_rec = next(r for r in recs if r.kind == "item" and r.title == "Robots that grasp")
    cooking = [r for r in recs if r.title == "Cooking notes"]
    assert item_rec.item_id is not None
    assert all(item_rec.score > c.score for c in cooking)
    assert recs.index(item_rec) <= 10  # right after the 10 untagged robot papers
    radar.tag("robots", [str(item_rec.item_id)])
    assert ("item", str(item_rec.item_id)) in {(e.kind, e.ref) for e in radar.library("robots")}


def test_ranking_index_lives_beside_the_database(db_url: str, tmp_path: Path) -> None:
    assert rank_dir_for(db_url) == tmp_path / "radar.sqlite.rank"
    assert rank_dir_for("postgresql://u@h/db") != rank_dir_for("postgresql://u@h/other")


def test_semantic_search_is_empty_and_hybrid_is_lexical_without_embeddings(radar: Radar) -> None:
    assert radar.semantic_search("diffusion") == []
    lexical = radar.search("diffusion", limit=3)
    assert radar.hybrid_search(lexical, "diffusion", limit=3) == lexical[:3]


def cli(db_url: str) -> tuple[CliRunner, typer.Typer]:
    app = typer.Typer()

    @app.callback()
    def _root(ctx: typer.Context) -> None:
        ctx.obj = _common.CliState(db_url, None)

    library_cli.register(app)
    return CliRunner(), app


def test_cli_tag_recommend_related_json(radar: Radar, db_url: str) -> None:
    runner, app = cli(db_url)
    result = runner.invoke(app, ["tag", "add", "gen", "2505.00001", "2505.00002"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["tags", "--json"])
    assert json.loads(result.stdout) == [{"tag": "gen", "count": 2}]
    result = runner.invoke(app, ["recommend", "--since", "2025-05-02", "--limit", "3", "--json"])
    assert result.exit_code == 0, result.output
    recs = json.loads(result.stdout)
    assert len(recs) == 3
    for rec in recs:
        assert {"arxiv_id", "item_id", "title", "score", "reason"} <= set(rec)
    result = runner.invoke(app, ["related", "2505.00001", "--json", "--limit", "2"])
    assert result.exit_code == 0
    assert len(json.loads(result.stdout)) == 2
    result = runner.invoke(app, ["recommend", "--since", "May 2"])
    assert result.exit_code != 0
    result = runner.invoke(app, ["tag", "list", "gen"])
    assert "2505.00001" in result.stdout


def test_cli_reactions_reads_and_errors(radar: Radar, db_url: str) -> None:
    runner, app = cli(db_url)
    assert runner.invoke(app, ["like", "2505.00003"]).exit_code == 0
    assert runner.invoke(app, ["dismiss", "2505.00004", "2505.00005"]).exit_code == 0
    assert runner.invoke(app, ["read", "2505.00006"]).exit_code == 0
    entries = {e.ref: e for e in radar.library()}
    assert entries["2505.00003"].reaction == "like"
    assert entries["2505.00005"].reaction == "dismiss"
    assert runner.invoke(app, ["dismiss", "--undo", "2505.00005"]).exit_code == 0
    assert "2505.00005" not in {e.ref for e in radar.library()}
    read_id = radar._storage.paper_db_ids(["2505.00006"])["2505.00006"]
    assert ("paper", str(read_id)) in radar._storage.read_refs(radar._user_id)
    assert runner.invoke(app, ["read", "--unread", "2505.00006"]).exit_code == 0
    assert radar._storage.read_refs(radar._user_id) == set()
    bad = runner.invoke(app, ["like", "nonsense"])
    assert bad.exit_code != 0


# -- papers whose text changed ------------------------------------------------------------------


def test_a_new_version_with_new_text_is_featurized_again(radar: Radar) -> None:
    zebra = Paper(
        arxiv_id="2505.09000",
        title="Zebracorn Herding",
        authors=("Z. Author",),
        categories=("q-bio.PE",),
        abstract="We study zebracorn herding and zebracorn migration.",
        first_version_at=START,
        updated_at=START,
    )
    store_papers(radar._storage, [zebra])
    radar.tag("robots", ["2505.00007", "2505.00008"])
    assert radar.sync_rank_index() == 1
    assert radar.sync_rank_index() == 0
    before = radar.related("2505.00010", limit=3)  # a diffusion paper
    assert "2505.09000" not in {r.arxiv_id for r in before}
    old = radar._storage.get_paper("2505.00010")
    assert old is not None
    store_papers(
        radar._storage,
        [
            Paper(
                arxiv_id="2505.00010",
                title="Zebracorn Herding by Robot",
                authors=old.authors,
                categories=old.categories,
                abstract="We study zebracorn herding: a robot arm guides zebracorn migration.",
                first_version_at=old.first_version_at,
                updated_at=START + timedelta(days=5),
            )
        ],
    )
    assert radar.sync_rank_index() == 1
    assert radar.sync_rank_index() == 0  # a second sync does nothing
    papers = radar._indexes()["papers"]
    db_id = radar._storage.paper_db_ids(["2505.00010"])["2505.00010"]
    assert list(papers.rows_of([db_id])) == [papers.store.meta.rows - 1]  # the new row
    retired = set(papers.store.retired_rows().tolist())
    assert len(retired) == 1
    assert not retired & set(papers.window(None, None).tolist())
    # A word only the new version has now matches...
    after = radar.related("2505.00010", limit=3)
    assert after[0].arxiv_id == "2505.09000"
    assert "zebracorn" in after[0].terms
    # ... and the new text is what ranks, once (the old row is no candidate).
    radar.tag("zebra", ["2505.09000"])
    recs = radar.recommend(tag="zebra", since=START, limit=50)
    assert recs[0].arxiv_id == "2505.00010"
    assert len({r.arxiv_id for r in recs}) == len(recs)
    df = papers.doc_freq()
    assert df.n_docs == len(make_papers()) + 1
    word = papers.encoder.term_frequencies(["zebracorn"]).indices[0]
    assert df.counts[word] == 2


def test_an_edited_item_is_featurized_again(radar: Radar) -> None:
    source = radar._storage.add_source(
        radar._user_id, "https://blog.example/feed.xml", "feed", name="Blog"
    )

    def post(text: str, digest: str, when: datetime) -> ParsedEntry:
        return ParsedEntry(
            key="id:1",
            url="https://blog.example/1",
            link=None,
            title="Notes",
            author=None,
            summary_html=None,
            content_html=None,
            text=text,
            categories=(),
            published_at=datetime(2025, 5, 3, tzinfo=UTC),
            updated_at=None,
            arxiv_ids=(),
            dois=(),
            content_hash=digest,
        )

    t0 = datetime(2025, 5, 3, tzinfo=UTC)
    radar._storage.store_entries(
        source.id, [post("recipes for bread and soup", "a", t0)], FetchState(t0, 200, None, t0)
    )
    radar.sync_rank_index()
    assert radar._indexes()["items"].store.meta.rows == 1
    t1 = datetime.now(UTC)
    radar._storage.store_entries(
        source.id,
        [post("robot manipulation grasping dexterous arm", "b", t1)],
        FetchState(t1, 200, None, t1),
    )
    assert radar.sync_rank_index() == 1
    items = radar._indexes()["items"]  # the reader sees the writer's rows
    assert items.store.meta.rows == 2
    assert list(items.rows_of([1])) == [1]
    radar.tag("robots", ["2505.00007", "2505.00008"])
    recs = radar.recommend(tag="robots", since=START, limit=12)
    assert "Notes" in {r.title for r in recs}


# -- discussion and recency priors ---------------------------------------------------------------


def discuss(radar: Radar, arxiv_id: str, places: list[tuple[str, str]]) -> None:
    """Items naming ``arxiv_id`` in each ``(source url, name)`` place."""
    now = datetime(2025, 5, 4, tzinfo=UTC)
    for url, name in places:
        found = [s for s in radar._storage.list_sources() if s.url == url]
        source = (
            found[0] if found else radar._storage.add_source(radar._user_id, url, "feed", name=name)
        )
        key = f"id:{arxiv_id}:{url}"
        entry = ParsedEntry(
            key=key,
            url=f"{url}#{arxiv_id}",
            link=None,
            title=f"Thread about {arxiv_id}",
            author=None,
            summary_html=None,
            content_html=None,
            text=f"see arxiv.org/abs/{arxiv_id}",
            categories=(),
            published_at=now,
            updated_at=None,
            arxiv_ids=(arxiv_id,),
            dois=(),
            content_hash=key,
        )
        radar._storage.store_entries(source.id, [entry], FetchState(now, 200, None, now))


def twins(radar: Radar) -> tuple[str, str]:
    """Two papers with the same diffusion text, listed the same day (the later id second)."""
    papers = [
        Paper(
            arxiv_id=f"2505.0900{i}",
            title="Diffusion Sampler Guidance",
            authors=("T. Win",),
            categories=("cs.CV",),
            abstract="We study diffusion: diffusion model denoising sampler guidance image.",
            first_version_at=START + timedelta(days=3),
            updated_at=None,
        )
        for i in (1, 2)
    ]
    store_papers(radar._storage, papers)
    radar.sync_rank_index()
    return papers[0].arxiv_id, papers[1].arxiv_id


HN = ("https://news.ycombinator.com/rss", "HN")
BLOG = ("https://blog.example/feed.xml", "Blog")
ARXIV_FEED = ("https://rss.arxiv.org/rss/cs.CV", "arXiv cs.CV")


def test_of_two_equally_relevant_papers_the_discussed_one_ranks_first(radar: Radar) -> None:
    plain, talked = twins(radar)
    discuss(radar, talked, [HN, BLOG, ARXIV_FEED])
    radar.tag("gen", ["2505.00001", "2505.00002", "2505.00003"])
    recs = radar.recommend(tag="gen", since=START + timedelta(days=1), limit=20)
    ids = [r.arxiv_id for r in recs]
    assert ids.index(talked) < ids.index(plain)
    first = recs[ids.index(talked)]
    second = recs[ids.index(plain)]
    assert first.relevance == second.relevance  # same text: only the prior tells them apart
    assert first.score > second.score
    assert first.discussed_in == ("Blog", "HN")  # arXiv's own feed is no discussion
    assert first.mentions == 3
    assert "discussed in 2 places (Blog, HN)" in first.reason
    assert "discussed" not in second.reason


def test_a_discussed_off_topic_paper_does_not_jump_over_on_topic_ones(radar: Radar) -> None:
    speech = "2505.00035"  # a speech paper of the last day
    places = [(f"https://forum{i}.example/feed", f"Forum {i}") for i in range(12)]
    discuss(radar, speech, places)
    radar.tag("gen", ["2505.00001", "2505.00002", "2505.00003"])
    recs = radar.recommend(tag="gen", since=START + timedelta(days=1), limit=40)
    topics = [topic_of(radar, r.arxiv_id or "") for r in recs]
    talked = [r.arxiv_id for r in recs].index(speech)
    assert topics[:9] == ["diffusion"] * 9  # every later diffusion paper first
    assert talked >= 9
    assert recs[talked].discussed_in == tuple(sorted(n for _, n in places))


def test_zero_weights_turn_the_priors_off(db_url: str) -> None:
    radar = make_radar(
        db_url,
        embedding_model="none-installed-model-xyz",
        rank_discussion_weight=0,
        rank_recency_weight=0,
    )
    store_papers(radar._storage, make_papers())
    plain, talked = twins(radar)
    discuss(radar, talked, [HN, BLOG])
    radar.tag("gen", ["2505.00001", "2505.00002", "2505.00003"])
    recs = radar.recommend(tag="gen", since=START + timedelta(days=1), limit=20)
    ids = [r.arxiv_id for r in recs]
    assert ids.index(plain) < ids.index(talked)  # the model's own (stable) order
    assert all(r.score == r.relevance for r in recs)
    assert recs[ids.index(talked)].discussed_in == ("Blog", "HN")  # shown, not used
    assert "discussed" not in recs[ids.index(talked)].reason


def test_recency_prefers_the_newer_of_equally_relevant_papers(radar: Radar) -> None:
    older = Paper(
        arxiv_id="2505.09011",
        title="Diffusion Sampler Guidance",
        authors=("T. Win",),
        categories=("cs.CV",),
        abstract="We study diffusion: diffusion model denoising sampler guidance image.",
        first_version_at=START + timedelta(days=1),
        updated_at=None,
    )
    newer = replace(older, arxiv_id="2505.09010", first_version_at=START + timedelta(days=3))
    store_papers(radar._storage, [older])  # stored first: the model's tie order favours it
    store_papers(radar._storage, [newer])
    radar.sync_rank_index()
    radar.tag("gen", ["2505.00001", "2505.00002", "2505.00003"])
    recs = radar.recommend(tag="gen", since=START + timedelta(days=1), limit=12)
    ids = [r.arxiv_id for r in recs]
    assert ids.index("2505.09010") < ids.index("2505.09011")
    assert "newer in the window (listed 2025-05-04)" in recs[ids.index("2505.09010")].reason
    # One day: nothing to prefer, the model's order stands.
    day = radar.recommend(
        tag="gen", since=START + timedelta(days=3), until=START + timedelta(days=3)
    )
    assert all(r.score == r.relevance for r in day)


def test_cli_recommend_json_carries_the_signals(radar: Radar, db_url: str) -> None:
    _plain, talked = twins(radar)
    discuss(radar, talked, [HN, BLOG])
    runner, app = cli(db_url)
    assert runner.invoke(app, ["tag", "add", "gen", "2505.00001", "2505.00002"]).exit_code == 0
    result = runner.invoke(app, ["recommend", "--since", "2025-05-02", "--limit", "10", "--json"])
    assert result.exit_code == 0, result.output
    recs = {r["arxiv_id"]: r for r in json.loads(result.stdout)}
    rec = recs[talked]
    assert {"arxiv_id", "item_id", "title", "score", "reason", "mentions"} <= set(rec)
    assert rec["discussed_in"] == ["Blog", "HN"]
    assert rec["mentions"] == 2
    assert "discussed in 2 places (Blog, HN)" in rec["reason"]
    assert isinstance(rec["relevance"], float)


def rewrite(radar: Radar, arxiv_id: str, abstract: str) -> None:
    old = radar._storage.get_paper(arxiv_id)
    assert old is not None
    store_papers(radar._storage, [replace(old, abstract=abstract)])


def test_a_change_committed_late_within_the_margin_is_still_seen(radar: Radar) -> None:
    from sqlalchemy import update

    from mlradar._storage import schema

    radar.sync_rank_index()
    rewrite(radar, "2505.00004", "We study zebracorn herding.")
    # As if the write had started (and been stamped) two minutes before the last sync.
    with radar._storage.engine.begin() as conn:
        conn.execute(
            update(schema.papers)
            .where(schema.papers.c.arxiv_id == "2505.00004")
            .values(stored_at=datetime.now(UTC) - timedelta(minutes=2))
        )
    assert radar.sync_rank_index() == 1


def test_a_store_from_before_change_tracking_catches_up(radar: Radar) -> None:
    radar.sync_rank_index()
    store = radar._indexes()["papers"].store.path
    meta = json.loads((store / "meta.json").read_text())
    del meta["changed_since"], meta["moves"], meta["df_gen"]
    (store / "meta.json").write_text(json.dumps(meta))
    (store / "df.1").rename(store / "df")
    (store / "fp").unlink()
    rewrite(radar, "2505.00004", "We study zebracorn herding.")
    fresh = make_radar(radar.settings.database_url, embedding_model="none-installed-model-xyz")
    # Every paper written since the store's last write (less the margin) is looked at; with
    # no fingerprints to vouch for them, all are featurized again (once).
    assert fresh.sync_rank_index() == len(make_papers())
    assert fresh.sync_rank_index() == 0
    ix = fresh._indexes()["papers"]
    db_id = fresh._storage.paper_db_ids(["2505.00004"])["2505.00004"]
    row = ix.rows_of([db_id])
    profile = profile_of([(ix, row, row[:0])])
    (shared,) = ix.shared_terms(row, ["We study zebracorn herding."], profile)
    assert any("zebracorn" in t.term for t in shared)


# -- author affinity ------------------------------------------------------------------------------


@pytest.fixture
def any_radar(any_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Radar:
    """A radar on SQLite or PostgreSQL (whose ranking index lives in the user cache)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    r = make_radar(any_db_url, embedding_model="none-installed-model-xyz")
    store_papers(r._storage, make_papers())
    return r


def diffusion_paper(arxiv_id: str, authors: tuple[str, ...], day: int) -> Paper:
    return Paper(
        arxiv_id=arxiv_id,
        title="Diffusion Sampler Guidance",
        authors=authors,
        categories=("cs.CV",),
        abstract="We study diffusion: diffusion model denoising sampler guidance image.",
        first_version_at=START + timedelta(days=day),
        updated_at=None,
    )


def followed_author(radar: Radar, *, sync: bool = True) -> None:
    """Two tagged diffusion papers by Ada Lovelace; later, two new papers with the same
    text: by strangers (stored first, so the text alone keeps it first), and by Ada."""
    store_papers(
        radar._storage,
        [
            diffusion_paper("2505.09100", ("Ada Lovelace", "A. Author"), 0),
            diffusion_paper("2505.09103", ("Ada Lovelace",), 0),
        ],
    )
    store_papers(radar._storage, [diffusion_paper("2505.09101", ("C. Stranger",), 3)])
    store_papers(radar._storage, [diffusion_paper("2505.09102", ("B. Other", "Ada Lovelace"), 3)])
    if sync:
        radar.sync_rank_index()


def test_a_tagged_authors_new_paper_ranks_first_and_the_reason_names_them(
    any_radar: Radar,
) -> None:
    radar = any_radar
    followed_author(radar)
    radar.tag("gen", ["2505.00001", "2505.09100", "2505.09103"])
    recs = radar.recommend(tag="gen", since=START + timedelta(days=1), limit=6)
    ids = [r.arxiv_id for r in recs]
    assert ids[0] == "2505.09102"
    assert ids.index("2505.09102") < ids.index("2505.09101")
    ada, stranger = recs[0], recs[ids.index("2505.09101")]
    assert ada.by_authors == ("Ada Lovelace",)
    assert "by Ada Lovelace, who wrote 2 papers you tagged" in ada.reason
    assert stranger.by_authors == ()
    assert "by " not in stranger.reason
    assert all(r.by_authors == () for r in recs[1:])
    # Related papers credit the authors of the paper asked about.
    # The text puts 2505.09103 (by Ada, stored first) first anyway: credit goes to the
    # paper the name lifted above the stranger's twin.
    related = radar.related("2505.09100", limit=3)
    assert [r.arxiv_id for r in related] == ["2505.09103", "2505.09102", "2505.09101"]
    assert [r.by_authors for r in related] == [(), ("Ada Lovelace",), ()]
    assert "by Ada Lovelace (also an author of 2505.09100)" in related[1].reason
    # A post by the same author (an item's one free-text name) is the same author.
    source = radar._storage.add_source(
        radar._user_id, "https://blog.example/feed.xml", "feed", name="Blog"
    )
    now = datetime(2025, 5, 1, tzinfo=UTC)
    post = ParsedEntry(
        key="id:ada",
        url="https://blog.example/ada",
        link=None,
        title="Notes on speech",
        author="ada lovelace",
        summary_html=None,
        content_html=None,
        text="speech recognition acoustic audio notes",
        categories=(),
        published_at=now,
        updated_at=None,
        arxiv_ids=(),
        dois=(),
        content_hash="ada",
    )
    radar._storage.store_entries(source.id, [post], FetchState(now, 200, None, now))
    radar.sync_rank_index()
    radar.untag("gen", ["2505.09100"])
    (post_id,) = [i for i, names in radar._storage.item_authors([1, 2]).items() if names]
    radar.tag("gen", [str(post_id)])
    recs = radar.recommend(tag="gen", since=START + timedelta(days=1), limit=10)
    assert recs[0].arxiv_id == "2505.09102"
    assert "by Ada Lovelace, who wrote 1 paper and 1 post you tagged" in recs[0].reason


def test_a_rare_tagged_name_lifts_more_than_a_common_one(radar: Radar) -> None:
    # "Yang Liu" wrote both tagged papers and 14 others; "Ada Rare" one other only.
    common = [p for p in make_papers() if topic_of_paper(p) != "diffusion"][:12]
    store_papers(
        radar._storage,
        [
            diffusion_paper("2505.09200", ("Ada Rare", "Yang Liu"), 0),
            diffusion_paper("2505.09203", ("Ada Rare", "Yang Liu"), 0),
            *[replace(p, authors=("Yang Liu",)) for p in common],
            diffusion_paper("2505.09201", ("Yang Liu", "C. Stranger"), 3),
            diffusion_paper("2505.09202", ("Ada Rare", "C. Stranger"), 3),
        ],
    )
    radar.sync_rank_index()
    radar.tag("gen", ["2505.00001", "2505.09200", "2505.09203"])
    recs = radar.recommend(tag="gen", since=START + timedelta(days=3), limit=3)
    assert [r.arxiv_id for r in recs[:2]] == ["2505.09202", "2505.09201"]
    assert recs[0].relevance is not None and recs[1].relevance is not None
    assert recs[0].relevance > recs[1].relevance  # the same text: the names tell them apart
    assert recs[0].by_authors == ("Ada Rare",)


def topic_of_paper(paper: Paper) -> str:
    return paper.abstract.split(":")[0].removeprefix("We study ")


def test_a_store_from_before_author_rows_is_upgraded_on_sync(any_radar: Radar) -> None:
    radar = any_radar
    followed_author(radar, sync=False)
    assert radar.sync_rank_index() == len(make_papers()) + 4
    path = radar._indexes()["papers"].store.path
    meta = json.loads((path / "meta.json").read_text())
    for key in [k for k in meta if k.startswith("author_")]:
        del meta[key]
    (path / "meta.json").write_text(json.dumps(meta))
    for f in list(path.iterdir()):
        if f.name in ("aindptr", "aindices") or f.name.split(".")[0] == "adf":
            f.unlink()
    fresh = make_radar(radar.settings.database_url, embedding_model="none-installed-model-xyz")
    papers = fresh._indexes()["papers"]
    assert not papers.has_authors
    assert fresh.sync_rank_index() == 0  # no text changed: author rows are back-filled only
    papers = fresh._indexes()["papers"]  # the reader sees what the sync wrote
    assert papers.has_authors
    assert papers.author_doc_freq().n_docs == len(make_papers()) + 4
    fresh.tag("gen", ["2505.00001", "2505.09100", "2505.09103"])
    recs = fresh.recommend(tag="gen", since=START + timedelta(days=3), limit=3)
    assert recs[0].arxiv_id == "2505.09102"
    assert recs[0].by_authors == ("Ada Lovelace",)


def test_cli_recommend_json_carries_the_credited_authors(radar: Radar, db_url: str) -> None:
    followed_author(radar)
    runner, app = cli(db_url)
    tagged = ["2505.00001", "2505.09100", "2505.09103"]
    assert runner.invoke(app, ["tag", "add", "gen", *tagged]).exit_code == 0
    result = runner.invoke(app, ["recommend", "--since", "2025-05-02", "--limit", "5", "--json"])
    assert result.exit_code == 0, result.output
    recs = {r["arxiv_id"]: r for r in json.loads(result.stdout)}
    assert recs["2505.09102"]["by_authors"] == ["Ada Lovelace"]
    assert "by Ada Lovelace, who wrote 2 papers you tagged" in recs["2505.09102"]["reason"]
    assert all(r["by_authors"] == [] for k, r in recs.items() if k != "2505.09102")


def test_a_changed_author_list_is_featurized_again(any_radar: Radar) -> None:
    radar = any_radar
    followed_author(radar)
    radar.sync_rank_index()
    papers = radar._indexes()["papers"]
    db_id = radar._storage.paper_db_ids(["2505.09101"])["2505.09101"]
    (before,) = papers.rows_of([db_id])
    store_papers(radar._storage, [diffusion_paper("2505.09101", ("Ada Lovelace",), 3)])
    assert radar.sync_rank_index() == 1  # the same text, new names: a new row
    assert radar.sync_rank_index() == 0
    (after,) = radar._indexes()["papers"].rows_of([db_id])
    assert after != before
    (ada,) = author_columns(["Ada Lovelace"])
    assert list(papers.authors(np.array([after])).indices) == [ada]
    assert papers.author_doc_freq().counts[ada] == 4  # 09100, 09102, 09103 and now 09101
    radar.tag("gen", ["2505.00001", "2505.09100", "2505.09103"])
    recs = radar.recommend(tag="gen", since=START + timedelta(days=3), limit=2)
    assert {r.arxiv_id for r in recs} == {"2505.09101", "2505.09102"}
    # Same text, same followed author: they tie, and lead on their text alone, so the
    # names lifted neither above anything and no reason credits them.
    assert recs[0].relevance == recs[1].relevance
    assert all(r.by_authors == () for r in recs)


def test_the_model_is_trained_once_per_feedback_and_cached_beside_the_index(
    radar: Radar, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlradar._rank import profile as profile_module

    radar.tag("gen", ["2505.00001", "2505.00002", "2505.00003"])
    first = radar.recommend(tag="gen", since=START, limit=5)
    models = rank_dir_for(radar.settings.database_url) / "models"
    assert len(list(models.glob("*.npz"))) == 1

    def no_training(*_a: object, **_k: object) -> None:
        raise AssertionError("trained again")

    monkeypatch.setattr(profile_module, "fit_profile", no_training)
    # Another process (a new Radar) reads the trained model instead of training.
    again = make_radar(radar.settings.database_url, embedding_model="none-installed-model-xyz")
    assert again.recommend(tag="gen", since=START, limit=5) == first
    # New feedback is a new model.
    radar.tag("gen", ["2505.00004"])
    with pytest.raises(AssertionError, match="trained again"):
        radar.recommend(tag="gen", since=START, limit=5)
