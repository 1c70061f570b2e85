"""The user's library through the facade and the CLI: tags, reactions, reads,
recommendations with reasons, related papers, per-user isolation, bad input."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from mlradar._model import FetchState, ParsedEntry
from mlradar._radar import Radar, make_radar
from mlradar._radar._library import rank_dir_for
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
def radar(db_url: str) -> Radar:
    r = make_radar(db_url, embedding_model="none-installed-model-xyz")
    r._storage.upsert_papers(make_papers())
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
    assert "near" in top.reason
    assert top.terms
    assert recs == sorted(recs, key=lambda r: -r.score)


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


def test_default_window_is_new_since_the_last_digest(radar: Radar) -> None:
    radar.tag("gen", ["2505.00001"])
    first = radar.recommend(limit=50)  # first digest: the newest week
    assert first
    radar._storage.upsert_papers(
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
        ]
    )
    second = radar.recommend(limit=50)
    assert [r.arxiv_id for r in second] == ["2505.09999"]
    again = radar.recommend(limit=50)  # nothing newer: the last digest again
    assert [r.arxiv_id for r in again] == ["2505.09999"]


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
    source = radar._storage.add_source("https://blog.example/feed.xml", "feed", name="Blog")
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
    assert ("paper", "2505.00006") in radar._storage.read_refs(radar._user_id)
    assert runner.invoke(app, ["read", "--unread", "2505.00006"]).exit_code == 0
    assert radar._storage.read_refs(radar._user_id) == set()
    bad = runner.invoke(app, ["like", "nonsense"])
    assert bad.exit_code != 0
