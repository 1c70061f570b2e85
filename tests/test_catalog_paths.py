"""Learning paths and profiles: the pure ordering, and the CLI with progress per user."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from typer.testing import CliRunner

from mlradar._catalog.paths import STAGES, build_path, goal_stage
from mlradar._catalog.profiles import suits
from mlradar.cli import app
from mlradar.exceptions import InvalidInputError
from mlradar.types import CatalogEntry, CatalogKind, Level, LinkStatus

STAGE_ORDER = [s.key for s in STAGES]


def entry(
    i: int,
    topics: tuple[str, ...],
    *,
    kind: CatalogKind = "course",
    level: Level = "beginner",
    feed: str | None = None,
    link: LinkStatus | None = None,
    retired: str | None = None,
) -> CatalogEntry:
    return CatalogEntry(
        id=i,
        slug=f"e{i}",
        name=f"Entry {i}",
        url=f"https://example.org/{i}",
        kind=kind,
        topics=topics,
        level=level,
        description=None,
        feed_url=feed,
        builtin=True,
        retired=retired,
        link=link,
    )


def test_path_follows_the_study_guides_order() -> None:
    entries = [
        entry(1, ("llm", "deep-learning")),
        entry(2, ("python",)),
        entry(3, ("deep-learning",), level="advanced"),
        entry(4, ("deep-learning",)),
        entry(5, ("linear-algebra", "math")),
        entry(6, ("safety",)),
        entry(7, ("interpretability",)),
        entry(8, ("machine-learning",)),
        entry(9, ("calculus",)),
        entry(10, ("probability",)),
        entry(11, ("deep-learning",), kind="blog", feed="https://x/feed"),  # followed, not studied
        entry(12, ("deep-learning",), kind="video", feed="https://x/channel"),  # a channel counts
        entry(13, ("gardening",)),  # no stage
    ]
    path = build_path(entries, user="u")
    assert [s.slug for s in path.steps] == [
        "e5", "e10", "e9", "e2", "e8", "e4", "e12", "e3", "e1", "e6", "e7"
    ]  # fmt: skip
    assert [s.position for s in path.steps] == list(range(1, 12))
    # Level picks one level; the goal stops at its stage.
    assert [s.slug for s in build_path(entries, user="u", level="advanced").steps] == ["e3"]
    up_to_dl = build_path(entries, user="u", goal="deep learning")
    assert up_to_dl.steps[-1].stage == "deep-learning"
    assert "e1" not in {s.slug for s in up_to_dl.steps}


def test_path_leaves_out_dead_links_but_keeps_done_steps() -> None:
    gone = LinkStatus("gone", datetime(2026, 1, 1, tzinfo=UTC), 404)
    moved = LinkStatus("moved", datetime(2026, 1, 1, tzinfo=UTC), 301, "https://new.example/")
    entries = [
        entry(1, ("python",), link=gone),
        entry(2, ("python",), retired="shut down"),
        entry(3, ("python",), link=moved),
        entry(4, ("python",), retired="shut down"),
    ]
    when = datetime(2026, 2, 1, tzinfo=UTC)
    path = build_path(entries, user="u", done={4: when})
    assert [(s.slug, s.done) for s in path.steps] == [("e3", False), ("e4", True)]
    assert path.steps[0].url == "https://new.example/"
    assert path.steps[1].done_at == when
    assert path.next_step is not None
    assert path.next_step.slug == "e3"


@pytest.mark.parametrize(
    ("goal", "stage"),
    [("deep learning", "deep-learning"), ("LLMs", "llm"), ("mechinterp", "interpretability"),
     ("ML", "machine-learning"), ("Linear Algebra", "linear-algebra"), ("AI safety", "safety")],
)  # fmt: skip
def test_goals(goal: str, stage: str) -> None:
    assert goal_stage(goal).key == stage


def test_unknown_goal() -> None:
    with pytest.raises(InvalidInputError, match="unknown goal 'cooking'"):
        goal_stage("cooking")


def test_profiles_pick_ongoing_sources() -> None:
    blog = entry(1, ("deep-learning", "news"), kind="blog", level="advanced", feed="https://f/")
    playlist = entry(2, ("python",), kind="playlist", feed="https://f2/")
    beginner_forum = entry(3, ("news",), kind="forum", feed="https://f3/")
    no_feed = entry(4, ("news",), kind="blog")
    dead = entry(5, ("news",), kind="blog", feed="https://f5/", retired="gone")
    assert suits(blog, "researcher")
    assert suits(blog, "news")
    assert not suits(blog, "beginner")
    assert not any(suits(playlist, p) for p in ("beginner", "researcher", "news"))
    assert suits(beginner_forum, "beginner")
    assert suits(beginner_forum, "news")
    assert not any(suits(e, "news") for e in (no_feed, dead))


def run(runner: CliRunner, db: str, *args: str, user: str | None = None) -> Any:
    argv = ["--db", db, *(["--user", user] if user else []), *args, "--json"]
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_cli_init_path_and_progress_per_user(db_url: str) -> None:
    runner = CliRunner()
    init = run(runner, db_url, "init", "--profile", "beginner")
    assert init["catalog_entries"] == 252
    assert "r-learnmachinelearning" in init["subscribed"]
    assert "3blue1brown" in init["subscribed"]
    assert "lil-log" not in init["subscribed"]
    # Running it again subscribes nothing new.
    again = run(runner, db_url, "init", "--profile", "beginner")
    assert again["subscribed"] == []
    assert len(again["already_subscribed"]) == len(init["subscribed"])
    sources = run(runner, db_url, "sources", "list", "--tag", "catalog/beginner")
    assert len(sources) == len(init["subscribed"])

    path = run(runner, db_url, "path", "--level", "beginner")
    steps = path["steps"]
    assert steps[0]["slug"] == "3b1b-essence-of-linear-algebra"
    stages = [STAGE_ORDER.index(s["stage"]) for s in steps]
    assert stages == sorted(stages)
    assert {"linear-algebra", "probability", "calculus", "python", "machine-learning",
            "deep-learning", "llm", "safety"} <= {s["stage"] for s in steps}  # fmt: skip
    assert all(s["level"] == "beginner" for s in steps)
    assert (path["done"], path["next"]["slug"]) == (0, steps[0]["slug"])

    done = run(runner, db_url, "done", steps[0]["slug"])
    assert done == {"id": steps[0]["slug"], "done": True}
    path = run(runner, db_url, "path", "--level", "beginner")
    assert path["done"] == 1
    assert path["steps"][0]["done"] is True
    assert path["steps"][0]["done_at"]
    assert path["next"]["slug"] == steps[1]["slug"]

    # Progress is per user.
    run(runner, db_url, "user", "add", "bob")  # users are made explicitly
    other = run(runner, db_url, "path", "--level", "beginner", user="bob")
    assert (other["user"], other["done"], other["next"]["slug"]) == ("bob", 0, steps[0]["slug"])

    run(runner, db_url, "done", steps[0]["slug"], "--undo")
    assert run(runner, db_url, "path", "--level", "beginner")["done"] == 0

    goal = run(runner, db_url, "path", "--goal", "deep learning")
    assert goal["steps"][-1]["stage"] == "deep-learning"


def test_cli_catalog_listing_filters(db_url: str) -> None:
    runner = CliRunner()
    books = run(runner, db_url, "catalog", "--kind", "book", "--level", "beginner")
    assert books
    assert all(e["kind"] == "book" and e["level"] == "beginner" for e in books)
    assert "automate-the-boring-stuff" in {e["slug"] for e in books}
    la = run(runner, db_url, "catalog", "--topic", "Linear Algebra")
    assert all("linear-algebra" in e["topics"] for e in la)
    assert len(la) >= 5
    shown = run(runner, db_url, "catalog", "show", "lil-log")
    assert shown["feed_url"] == "https://lilianweng.github.io/index.xml"
    assert shown["aliases"] == ["https://lilianweng.github.io/lil-log/"]
    assert shown["origins"] == [{"origin": "builtin", "heading_path": []}]


@pytest.mark.parametrize(
    "args",
    [
        ["path", "--goal", "cooking"],
        ["path", "--level", "wizard"],
        ["done", "no-such-step"],
        ["catalog", "--kind", "spaceship"],
        ["init", "--profile", "everything"],
    ],
)
def test_cli_bad_input_is_an_error(db_url: str, args: list[str]) -> None:
    result = CliRunner().invoke(app, ["--db", db_url, *args])
    assert result.exit_code != 0
