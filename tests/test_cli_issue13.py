"""The command line as a new user meets it (issue 13): one date syntax, partial exports,
leading-dash queries, typed-back ids, consistent messages."""

from __future__ import annotations

import gzip
import itertools
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import bibtexparser
import pytest
from typer.testing import CliRunner

from mlradar.cli import app
from mlradar.cli._common import parse_day, parse_since
from mlradar.exceptions import InvalidInputError


@pytest.fixture
def snapshot(shared_data: Path, tmp_path: Path) -> Path:
    with gzip.open(shared_data / "arxiv" / "papers.jsonl.gz", "rb") as f:
        lines = list(itertools.islice(f, 300))
    path = tmp_path / "snap.jsonl.gz"
    path.write_bytes(gzip.compress(b"".join(lines)))
    return path


def invoke(db_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--db", db_url, *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


# -- one date syntax -------------------------------------------------------------------------


def test_every_date_form_parses_to_the_same_kind_of_moment() -> None:
    now = datetime.now(UTC)
    week = parse_since("7d")
    assert week is not None and abs((now - week) - timedelta(days=7)) < timedelta(minutes=1)
    assert parse_day("2w", "--since") == (now - timedelta(weeks=2)).date()
    assert parse_day("today", "--since") == now.date()
    assert parse_day("yesterday", "--until") == (now - timedelta(days=1)).date()
    assert parse_day("2025-06-01", "--since") == date(2025, 6, 1)
    with pytest.raises(InvalidInputError, match="--until: not a date: 'soon'"):
        parse_day("soon", "--until")


def test_recommend_takes_the_same_since_as_search(db_url: str, snapshot: Path) -> None:
    invoke(db_url, "arxiv", "import", str(snapshot))
    invoke(db_url, "tag", "add", "diffusion", "2503.11677")
    for since in ("7d", "2w", "today", "2025-03-01"):
        code, out, err = invoke(db_url, "recommend", "--tag", "diffusion", "--since", since)
        assert code == 0, (since, out, err)
    code, _, err = invoke(db_url, "recommend", "--since", "soon")
    assert code == 1
    assert "not a date" in err


# -- export bibtex ---------------------------------------------------------------------------


def test_bibtex_exports_what_it_has_and_warns_about_the_rest(
    db_url: str, snapshot: Path, tmp_path: Path
) -> None:
    invoke(db_url, "arxiv", "import", str(snapshot))
    invoke(db_url, "tag", "add", "diffusion", "2503.11677", "2401.00001")
    code, out, err = invoke(db_url, "export", "bibtex", "--tag", "diffusion")
    assert code == 0, err
    assert [e.key for e in bibtexparser.parse_string(out).entries] == ["park2025simulation"]
    assert "1 paper is not stored and left out: 2401.00001" in err
    target = tmp_path / "d.bib"
    code, _, err = invoke(db_url, "export", "bibtex", "--tag", "diffusion", "-o", str(target))
    assert code == 0
    assert "wrote 1 entry to" in err
    assert "1 papers" not in err
    code, out, err = invoke(db_url, "export", "bibtex", "2401.00001", "2401.00002")
    assert code == 1
    assert out == ""
    assert "nothing to export: 2 papers are not stored" in err


# -- small things ----------------------------------------------------------------------------


def test_version_and_plain_help_labels(db_url: str) -> None:
    from mlradar import __version__

    code, out, _ = invoke(db_url, "--version")
    assert (code, out.strip()) == (0, f"mlradar {__version__}")
    code, out, _ = invoke(db_url, "tag", "remove", "--help")
    assert code == 0
    assert "TAG [IDS]..." in out
    for raw in ("<bool>", "<list[str]>", "<str>", "{tag}"):
        assert raw not in out


def test_no_help_page_shows_raw_labels_or_docstring_markup(db_url: str) -> None:
    """Every command's help, read the way a user reads it: no Python type labels, no
    reStructuredText backquotes from the docstrings."""
    from typing import Any

    import typer.main

    from mlradar.cli import app

    def walk(command: Any, path: list[str]) -> list[list[str]]:
        found = [path]
        for name, sub in getattr(command, "commands", {}).items():  # typer vendors click
            if not sub.hidden:
                found += walk(sub, [*path, name])
        return found

    paths = walk(typer.main.get_command(app), [])
    assert len(paths) > 40
    for path in paths:
        code, out, err = invoke(db_url, *path, "--help")
        assert code == 0, (path, err)
        for raw in ("``", "<bool>", "<str>", "<int>", ":func:", ":class:"):
            assert raw not in out, (path, raw)


def test_reactions_read_and_tags_say_what_they_did(db_url: str) -> None:
    assert invoke(db_url, "tags")[1].strip() == "no tags yet (mlradar tag add TAG ID...)"
    assert "library is empty" in invoke(db_url, "tag", "list")[1]
    assert invoke(db_url, "dismiss", "2503.11677")[1].strip() == "dismissed: 1"
    assert invoke(db_url, "like", "2503.11677", "2503.11678")[1].strip() == "liked: 2"
    assert invoke(db_url, "like", "--undo", "2503.11677")[1].strip() == "cleared: 1"
    assert invoke(db_url, "read", "2503.11677")[1].strip() == "read: 1"
    assert invoke(db_url, "read", "--undo", "2503.11677")[1].strip() == "unread: 1"
    # The old spellings still work for scripts, hidden from help.
    assert invoke(db_url, "read", "--unread", "2503.11677")[1].strip() == "unread: 1"
    invoke(db_url, "tag", "add", "t", "2503.11677")
    assert invoke(db_url, "tag", "rm", "t", "2503.11677")[0] == 0
    assert "--unread" not in invoke(db_url, "read", "--help")[1]


def test_init_without_a_profile_lists_them(db_url: str) -> None:
    code, _, err = invoke(db_url, "init")
    assert code == 2
    for profile in ("beginner", "researcher", "news"):
        assert f"  {profile} " in err


def test_sources_export_takes_opml_and_nothing_else(db_url: str) -> None:
    code, out, _ = invoke(db_url, "sources", "export", "--opml")
    assert code == 0
    assert out.startswith("<?xml")
    assert invoke(db_url, "sources", "export", "--no-opml")[0] == 2


# -- queries that start with a dash ----------------------------------------------------------


def test_a_query_may_start_with_an_exclusion(db_url: str, snapshot: Path) -> None:
    import json

    invoke(db_url, "arxiv", "import", str(snapshot))
    code, out, err = invoke(db_url, "search", "vision", "-prosthetic", "-n", "2", "--json")
    assert code == 0, err
    plain_hits = json.loads(invoke(db_url, "search", "vision", "-n", "50", "--json")[1])
    hits = json.loads(out)
    assert 0 < len(hits) <= 2
    assert all("prosthetic" not in (h["title"] or "").lower() for h in hits)
    assert any("prosthetic" in (h["title"] or "").lower() for h in plain_hits)
    # The word order and a `--` do not matter; -n is still the option.
    for args in (
        ("-prosthetic", "vision", "-n", "2"),
        ("--", "-prosthetic", "vision", "-n", "2"),
        ("-n", "2", "--json", "-prosthetic", "vision"),
        ("--limit=2", "-prosthetic", "vision"),
    ):
        code, got, err = invoke(db_url, "search", *args, "--json")
        assert code == 0, (args, err)
        assert len(json.loads(got)) == 2
    code, _, err = invoke(db_url, "search", "-diffusion", "-n", "2")
    assert code == 1
    assert "only exclusions in '-diffusion': add a word to look for" in err
    assert "No such option" not in err


# -- the study plan --------------------------------------------------------------------------


def test_path_is_a_plan_with_whole_ids_urls_and_numbers_done_takes(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from mlradar.cli import _common

    monkeypatch.setattr(_common.console, "_width", 80)
    code, out, _ = invoke(db_url, "path", "--json")
    assert code == 0
    whole = json.loads(out)
    steps = {s["position"]: s for s in whole["steps"]}
    assert sorted(steps) == list(range(1, len(steps) + 1))
    planned = [steps[n] for n in whole["plan"]]
    per_stage: dict[str, int] = {}
    for s in planned:
        per_stage[s["stage"]] = per_stage.get(s["stage"], 0) + 1
    assert max(per_stage.values()) == 3
    assert len(planned) < len(steps) / 2

    code, out, _ = invoke(db_url, "path")
    assert code == 0
    for s in planned:
        assert s["slug"] in out  # whole, on an 80-column terminal
        assert s["url"][:30] in out
    assert "…" not in out
    assert "mlradar path --all" in out
    code, every, _ = invoke(db_url, "path", "--all")
    assert all(s["slug"] in every for s in whole["steps"])

    # The numbers of a filtered view are those of the whole path, and `done` takes them.
    beginner = json.loads(invoke(db_url, "path", "--level", "beginner", "--json")[1])
    second = beginner["steps"][1]
    assert second["position"] != 2
    code, out, _ = invoke(db_url, "done", str(second["position"]), "--json")
    assert code == 0
    assert json.loads(out) == {"id": second["slug"], "done": True}
    again = json.loads(invoke(db_url, "path", "--level", "beginner", "--json")[1])
    assert [s["done"] for s in again["steps"][:2]] == [False, True]
    assert second["position"] not in again["plan"]  # done steps leave the plan
    code, _, err = invoke(db_url, "done", "9999")
    assert code == 1
    assert "no step 9999" in err


# -- update: failures grouped, exit codes, offline advice ------------------------------------

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Fine feed</title>
<link>http://example.org/</link><item><title>One</title><guid>1</guid></item></channel></rss>"""


def test_update_groups_failures_by_cause_and_fails_only_when_all_did(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlradar.cli import _common
    from tests.feedserver import serving

    monkeypatch.setenv("MLRADAR_ALLOW_PRIVATE_NETWORKS", "1")
    monkeypatch.setattr(_common.console, "_width", 200)
    with serving(lambda s: s.add("/ok.xml", RSS)) as server:
        for n in range(6):
            server.add(f"/gone{n}.xml", "no", status=404)
            invoke(db_url, "sources", "add", server.url(f"/gone{n}.xml"), "--no-discover")
        invoke(db_url, "sources", "add", server.url("/ok.xml"), "--no-discover")
        code, out, _ = invoke(db_url, "update")
        assert code == 0, out
        assert out.count("failed: 6 sources: HTTP 404") == 1, out
        assert "... and 3 more (--verbose lists them)" in out
        assert "/ok.xml" in out
        code, out, _ = invoke(db_url, "update", "--force", "--verbose")
        assert all(server.url(f"/gone{n}.xml") in out for n in range(6))
        # 304s are counted as sources not modified, next to the items left unchanged.
        assert "(1 not modified)" in out
        invoke(db_url, "sources", "remove", "7")
        code, out, _ = invoke(db_url, "update", "--force")
        assert code == 1
        assert "6 failed" in out


def test_a_first_run_without_network_says_so(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    monkeypatch.setenv("MLRADAR_ALLOW_PRIVATE_NETWORKS", "1")
    with socket.socket() as sock:  # a port nobody listens on: connections are refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for n in range(3):
        invoke(db_url, "sources", "add", f"http://127.0.0.1:{port}/{n}.xml", "--no-discover")
    code, out, err = invoke(db_url, "run", "--no-serve")
    assert code == 1
    assert "failed: 3 sources: cannot connect" in out
    assert "no network?" in err
    assert "mlradar arxiv import" in err and "mlradar sources import" in err


def test_a_bad_setting_is_one_line(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLRADAR_ALLOW_PRIVATE_NETWORKS", "maybe")
    code, _, err = invoke(db_url, "stats")
    assert code == 1
    assert err.startswith("error: bad setting: allow_private_networks")
    assert len(err.strip().splitlines()) == 1


# -- --source ----------------------------------------------------------------------------------


def test_source_options_match_id_name_title_and_url(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from tests.feedserver import serving

    monkeypatch.setenv("MLRADAR_ALLOW_PRIVATE_NETWORKS", "1")
    with serving(lambda s: s.add("/ok.xml", RSS)) as server:
        invoke(db_url, "sources", "add", server.url("/ok.xml"), "--name", "mine")
        invoke(db_url, "update")
    url = server.url("/ok.xml")
    for ref in ("1", "mine", "MINE", "Fine feed", "fine FEED", url, url.removeprefix("http://")):
        code, out, err = invoke(db_url, "items", "--source", ref, "--json")
        assert code == 0, (ref, err)
        assert [i["title"] for i in json.loads(out)] == ["One"], ref
        code, out, err = invoke(db_url, "search", "one", "--source", ref, "--json")
        assert code == 0, (ref, err)
        assert len(json.loads(out)) == 1
    code, _, err = invoke(db_url, "items", "--source", "nothing like it")
    assert code == 1
    assert "no such source" in err


# -- dates a feed does not give ----------------------------------------------------------------

HUGO = """<?xml version="1.0"?><rss version="2.0"><channel><title>Hugo blog</title>
<link>http://example.org/</link>
<item><title>FAQ</title><guid>faq</guid><pubDate>Mon, 01 Jan 0001 00:00:00 +0000</pubDate></item>
<item><title>Post</title><guid>p</guid><pubDate>Tue, 01 Jul 2025 00:00:00 GMT</pubDate></item>
</channel></rss>"""


def test_a_hugo_zero_date_is_missing_and_shown_as_the_fetch_date(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from tests.feedserver import serving

    monkeypatch.setenv("MLRADAR_ALLOW_PRIVATE_NETWORKS", "1")
    with serving(lambda s: s.add("/hugo.xml", HUGO)) as server:
        invoke(db_url, "sources", "add", server.url("/hugo.xml"))
        invoke(db_url, "update")
    items = {i["title"]: i for i in json.loads(invoke(db_url, "items", "--json")[1])}
    assert items["FAQ"]["published_at"] is None
    assert items["Post"]["published_at"].startswith("2025-07-01")
    out = invoke(db_url, "items")[1]
    faq = next(line for line in out.splitlines() if "FAQ" in line)
    assert "seen " in faq and "0001" not in faq
    assert "2025-07-01" in next(line for line in out.splitlines() if "Post" in line)


def test_an_undated_item_of_the_first_fetch_sorts_last_and_a_later_one_by_arrival(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from tests.feedserver import serving

    monkeypatch.setenv("MLRADAR_ALLOW_PRIVATE_NETWORKS", "1")
    later = HUGO.replace(
        "<item><title>FAQ", "<item><title>News</title><guid>n</guid></item><item><title>FAQ"
    )
    with serving(lambda s: s.add("/hugo.xml", HUGO)) as server:
        invoke(db_url, "sources", "add", server.url("/hugo.xml"))
        invoke(db_url, "update")
        # Sorted by the fetch date, the FAQ was on top of a blog whose posts are months old.
        titles = [i["title"] for i in json.loads(invoke(db_url, "items", "--json")[1])]
        assert titles == ["Post", "FAQ"]
        server.add("/hugo.xml", later)
        invoke(db_url, "update", "--force")
    # An undated item that appears later is news: it sorts by when it was first seen.
    titles = [i["title"] for i in json.loads(invoke(db_url, "items", "--json")[1])]
    assert titles == ["News", "Post", "FAQ"]
    since = json.loads(invoke(db_url, "items", "--json", "--since", "2025-01-01")[1])
    assert [i["title"] for i in since] == ["News", "Post"]


# -- input that should be refused --------------------------------------------------------------


def test_an_unknown_arxiv_category_is_refused(db_url: str) -> None:
    code, _, err = invoke(db_url, "sources", "add", "arxiv:cs.XX")
    assert code == 1
    assert "no arXiv category 'cs.XX'" in err
    code, _, err = invoke(db_url, "sources", "add", "arxiv:cs.LG,stat.MLL")
    assert code == 1
    assert "did you mean stat.ML" in err
    # Real categories, whole archives and queries still work.
    assert invoke(db_url, "sources", "add", "arxiv:cs.LG,stat.ML")[0] == 0
    assert invoke(db_url, "sources", "add", "arxiv:math")[0] == 0
    assert invoke(db_url, "sources", "add", 'arxiv:"diffusion" AND cat:cs.CV')[0] == 0


def test_a_second_listing_of_the_same_category_warns(db_url: str) -> None:
    code, _, _ = invoke(
        db_url, "sources", "add", "https://rss.arxiv.org/rss/cs.LG", "--no-discover"
    )
    assert code == 0
    code, _, err = invoke(db_url, "sources", "add", "arxiv:cs.LG,cs.CL")
    assert code == 0
    assert "warning: source 1" in err and "already lists cs.LG" in err
    code, _, err = invoke(db_url, "sources", "add", "arxiv:math.PR")
    assert "warning" not in err


def test_a_paper_version_the_record_does_not_have_is_refused(
    db_url: str, snapshot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoke(db_url, "arxiv", "import", str(snapshot))
    code, _, err = invoke(db_url, "paper", "2503.11677v1")
    assert (code, err) == (0, "")
    code, out, err = invoke(db_url, "paper", "2503.11677v9")
    assert (code, out) == (1, "")
    assert "arXiv:2503.11677v9 is not a version of this paper (known: v1)" in err
    assert "`mlradar paper 2503.11677` shows it; --fetch checks arXiv's current record" in err
    # --fetch asks arXiv for the current record first, and refuses only if it lacks it too.
    from mlradar import make_radar
    from mlradar._radar import Radar
    from mlradar.exceptions import NotFoundError

    asked: list[list[str]] = []
    monkeypatch.setattr(Radar, "fetch_papers", lambda self, refs: asked.append(list(refs)) or [])
    with make_radar(db_url) as radar, pytest.raises(NotFoundError) as refused:
        radar.paper("arXiv:2503.11677v9", fetch=True)
    assert asked == [["2503.11677"]]
    assert "--fetch" not in str(refused.value)


# -- Ctrl-C in arxiv import --------------------------------------------------------------------


def test_an_interrupted_import_says_what_it_kept_and_the_resumed_run_counts_right(
    db_url: str, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlradar._arxiv import importer
    from mlradar._radar import Radar

    monkeypatch.setattr(importer, "BATCH_SIZE", 100)
    with gzip.open(shared_data / "arxiv" / "papers.jsonl.gz", "rb") as f:
        lines = list(itertools.islice(f, 500))
    path = tmp_path / "snap.jsonl.gz"
    path.write_bytes(gzip.compress(b"".join(lines)))
    original = Radar.import_arxiv_snapshot

    def interrupted(self: Radar, *args: object, **kw: object) -> object:
        progress = kw["progress"]
        seen = [0]

        def stop_after_two(p: object) -> None:
            progress(p)  # type: ignore[operator]
            seen[0] += 1
            if seen[0] == 2:
                raise KeyboardInterrupt

        kw["progress"] = stop_after_two
        return original(self, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Radar, "import_arxiv_snapshot", interrupted)
    code, _, err = invoke(db_url, "arxiv", "import", str(path))
    assert code == 130
    assert "interrupted: 200 papers from the first 200 lines are stored" in err
    assert "run the same command again to resume" in err
    monkeypatch.setattr(Radar, "import_arxiv_snapshot", original)
    code, out, _ = invoke(db_url, "arxiv", "import", str(path))
    assert code == 0
    assert "resumed after line 200, where an interrupted run had stored 200 papers" in out
    assert "this run: 300 papers, 300 of them new" in out
    assert "imported 500 papers from 500 lines: 500 new" in out


# -- paths as given --------------------------------------------------------------------------


def test_a_list_imported_through_a_symlink_records_the_path_as_given(
    db_url: str, shared_data: Path, tmp_path: Path
) -> None:
    import json
    import os

    link = tmp_path / "shared-link"
    link.symlink_to(shared_data, target_is_directory=True)
    given = link / "lists" / "awesome-machine-learning" / "blogs.md"
    code, out, err = invoke(db_url, "catalog", "import", str(given), "--json")
    assert code == 0, err
    assert json.loads(out)["origin"] == str(given)
    # A relative path is made absolute, still without resolving the link.
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        rel = Path("shared-link") / "lists" / "data-science-blogs" / "README.md"
        code, out, _ = invoke(db_url, "catalog", "import", str(rel), "--json")
    finally:
        os.chdir(cwd)
    assert json.loads(out)["origin"] == str(tmp_path / rel)


# -- eval --quick ----------------------------------------------------------------------------


def test_quick_eval_keeps_a_few_tasks_of_each_sampled_kind() -> None:
    from types import SimpleNamespace

    from mlradar.cli.library import QUICK_CATEGORIES, _thin

    kinds = ["curator"] * 4 + ["curator-3"] * 8 + ["cat-cold"] * 8 + ["labs"] * 2
    tasks = [SimpleNamespace(kind=k) for k in kinds]
    kept = _thin(tasks, QUICK_CATEGORIES, ("cat-", "curator-3"))
    counts = {k: sum(t.kind == k for t in kept) for k in set(kinds)}
    assert counts == {"curator": 4, "curator-3": 4, "cat-cold": 4, "labs": 2}


# -- recommend after a snapshot import -------------------------------------------------------


def test_recommend_with_only_a_blog_item_new_offers_the_newest_papers(
    db_url: str, snapshot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from tests.feedserver import serving

    monkeypatch.setenv("MLRADAR_ALLOW_PRIVATE_NETWORKS", "1")
    invoke(db_url, "arxiv", "import", str(snapshot))
    invoke(db_url, "tag", "add", "vision", "2503.11677")
    with serving(lambda s: s.add("/hugo.xml", HUGO)) as server:
        invoke(db_url, "sources", "add", server.url("/hugo.xml"))
        invoke(db_url, "update")  # the FAQ (no date) is new today; every paper is older
    code, out, err = invoke(db_url, "recommend", "-n", "3", "--json")
    assert code == 0, err
    assert "no new papers from" in err
    assert "the newest papers in the corpus instead (listed 2025-03" in err
    recs = json.loads(out)
    assert len(recs) == 3
    assert all(r["arxiv_id"] for r in recs)


def test_empty_listings_say_they_are_empty(db_url: str) -> None:
    assert "no sources yet" in invoke(db_url, "sources", "list")[1]
    assert "no sources are tagged x" in invoke(db_url, "sources", "list", "--tag", "x")[1]
    assert invoke(db_url, "items")[1].strip() == "no items yet"
    assert invoke(db_url, "items", "--since", "7d")[1].strip() == "no items match"
    assert invoke(db_url, "--user", "default", "tags")[1].strip().startswith("no tags yet")
