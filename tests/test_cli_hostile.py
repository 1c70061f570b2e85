"""No text from a feed, a paper, a list or the user can change or break the terminal.

One radar is filled with hostile text: Rich markup (``[/bold]``, ``[pdf]``), ANSI escape
sequences, a one-byte CSI (``\\x9b``), bells, a bidi override, emoji codes.  Then every
command that shows stored text runs, as a table and as ``--json``: each must exit as it
should, show the brackets as written, and write no control character raw.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from mlradar.cli import _common, app
from tests.feedserver import FeedServer, serving

ESC = "\x1b"
SOURCE_TITLE = f"Evil [/b] feed {ESC}]0;owned\x07"
ITEM_TITLE = f"Broken [/bold] markup title {ESC}[31mred"
PDF_TITLE = "[pdf] Attention \u202eevil\u202c :warning: arXiv:2503.11677"
SNIPPET = "this deserves more [attention] here \x9b2J"
PAPER_TITLE = f"A [red]paper[/red] title {ESC}[2J"
AUTHORS = "Ada [/i] Lovelace, Bob Smith"
TAG = f"t[/b]{ESC}[5m"
CATALOG_NAME = "Course [/bold] one"

#: Raw control characters that must never reach the output (tab and newline may).
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

FEED = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": SOURCE_TITLE,
    "home_page_url": "https://evil.example/",
    "items": [
        {
            "id": "1",
            "url": "https://evil.example/1",
            "title": ITEM_TITLE,
            "content_text": SNIPPET,
            "date_published": "2025-07-01T00:00:00Z",
        },
        {
            "id": "2",
            "url": "https://evil.example/2",
            "title": PDF_TITLE,
            "content_text": "attention [/] paper about 2503.11677",
            "date_published": "2025-07-02T00:00:00Z",
        },
    ],
}

PAPER = {
    "id": "2503.11677",
    "authors": AUTHORS,
    "title": PAPER_TITLE,
    "comments": "[/b] 12 pages",
    "categories": "cs.LG",
    "abstract": f"We study attention {ESC}[1m loudly [/i].",
    "versions": [{"version": "v1", "created": "Mon, 3 Mar 2025 10:00:00 GMT"}],
    "update_date": "2025-03-04",
}

MARKDOWN = f"""# A list [/b]

## Courses

- [{CATALOG_NAME}](https://course.example/one) - learn [attention] {ESC}[31m now
"""


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    def setup(s: FeedServer) -> None:
        s.add("/f.json", json.dumps(FEED), content_type="application/feed+json")
        s.add("/f2.json", json.dumps(FEED), content_type="application/feed+json")
        s.add("/gone[/b]", "no", status=404)

    with serving(setup) as s:
        yield s


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory, server: FeedServer) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp("hostile")
    mp = pytest.MonkeyPatch()
    mp.setenv("MLRADAR_ALLOW_PRIVATE_NETWORKS", "1")
    mp.setenv("MLRADAR_CONFIG", str(tmp / "no-config.toml"))
    mp.setenv("XDG_DATA_HOME", str(tmp / "xdg"))
    # Wide enough that no cell wraps: the test reads the hostile strings whole.
    mp.setattr(_common.console, "_width", 400)
    mp.setattr(_common.err_console, "_width", 400)
    db = str(tmp / "radar.sqlite")
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, ["--db", db, *args])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.output

    snapshot = tmp / "snap.jsonl"
    snapshot.write_text(json.dumps(PAPER) + "\n" + f"{{broken {ESC}[31m line\n", "utf-8")
    lst = tmp / "list.md"
    lst.write_text(MARKDOWN, "utf-8")
    steps = [
        ("sources", "add", server.url("/f.json")),
        ("sources", "add", server.url("/gone[/b]"), "--no-discover", "--name", f"N[/b]{ESC}[0m"),
        ("update",),
        ("arxiv", "import", str(snapshot)),
        ("tag", "add", TAG, "2503.11677", "1"),
        ("catalog", "import", str(lst), "--origin", f"list [/b] {ESC}[1m"),
    ]
    for step in steps:
        code, out = invoke(*step)
        assert code == 0, (step, out)
        assert RAW.search(out) is None, (step, out)
        assert step[0] == "arxiv" or "[/b]" in out, (step, out)
    yield invoke
    mp.undo()


def _clean(code_out: tuple[int, str], code: int = 0) -> str:
    got, out = code_out
    assert got == code, out
    assert RAW.search(out) is None, repr(out)
    assert "Traceback" not in out
    return out


TABLES: list[tuple[tuple[str, ...], list[str]]] = [
    (("run", "-n", "5"), ["Broken [/bold] markup title", "Evil [/b] feed"]),
    (("items",), ["Broken [/bold] markup title", "[pdf] Attention", "Evil [/b] feed"]),
    (("search", "attention"), ["[attention]", "[pdf] Attention"]),
    (("sources", "list"), ["Evil [/b] feed", "N[/b]"]),
    (("update", "--force"), ["Evil [/b] feed", "N[/b]"]),
    (("sources", "tag", "1", "x[/i]"), ["x[/i]"]),
    (("paper", "2503.11677"), ["A [red]paper[/red] title", "Ada [/i] Lovelace", "[/b] 12 pages"]),
    (("tag", "list"), ["A [red]paper[/red] title", "t[/b]"]),
    (("tags",), ["t[/b]"]),
    (("recommend", "--since", "2025-01-01"), []),
    (("related", "2503.11677"), []),
    (("catalog",), [CATALOG_NAME]),
    (("catalog", "show", "course-bold-one"), [CATALOG_NAME, "list [/b]"]),
    (("path",), []),
    (("stats",), []),
    (("export", "bibtex", "--tag", TAG), ["paper"]),
    (("user", "list"), []),
]


@pytest.mark.parametrize(("args", "shown"), TABLES, ids=lambda v: " ".join(v) if v else "")
def test_hostile_text_shows_as_text_in_every_table(cli, args, shown) -> None:  # type: ignore[no-untyped-def]
    out = _clean(cli(*args))
    for text in shown:
        assert text in out, (text, out)


JSONS = [
    ("items",),
    ("search", "attention"),
    ("sources", "list"),
    ("update", "--force"),
    ("paper", "2503.11677"),
    ("tag", "list"),
    ("tags",),
    ("recommend", "--since", "2025-01-01"),
    ("related", "2503.11677"),
    ("catalog",),
    ("catalog", "show", "course-bold-one"),
    ("path",),
    ("stats",),
    ("user", "list"),
]


@pytest.mark.parametrize("args", JSONS, ids=" ".join)
def test_hostile_text_is_escaped_in_every_json(cli, args) -> None:  # type: ignore[no-untyped-def]
    out = _clean(cli(*args, "--json"))
    json.loads(out)


def test_the_stored_text_is_kept_exactly(cli) -> None:  # type: ignore[no-untyped-def]
    items = json.loads(_clean(cli("items", "--json")))
    assert {i["title"] for i in items} >= {ITEM_TITLE, PDF_TITLE}
    assert {i["source_name"] for i in items} == {SOURCE_TITLE}


def test_errors_quoting_hostile_input_print_as_text(cli) -> None:  # type: ignore[no-untyped-def]
    out = _clean(cli("sources", "remove", f"nope [/b] {ESC}[31m"), code=1)
    assert "nope [/b]" in out
    out = _clean(cli("catalog", "show", f"x[/bold]{ESC}"), code=1)
    assert "x[/bold]" in out


def test_adding_and_removing_a_hostile_source_prints_its_name(cli, server: FeedServer) -> None:  # type: ignore[no-untyped-def]
    out = _clean(cli("sources", "add", server.url("/f2.json"), "--name", f"Two [/b] {ESC}[1m"))
    assert "Two [/b]" in out
    source_id = out.split()[2].rstrip(":")
    out = _clean(cli("sources", "remove", source_id))
    assert "Two [/b]" in out
