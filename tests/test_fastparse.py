"""The lxml fast path gives exactly what feedparser gives, on every real feed and corpus.

Each file is parsed twice through :func:`parse_feed`: once as in production (the fast path
where the document is clean) and once with the fast path switched off (feedparser for
everything).  Where the fast path was taken the two ParsedFeeds must be equal, entry by
entry and field by field (key, title, link, dates, author, content, categories, ids,
content hash).  Every file where it was not taken is listed with the reason, in
``fastparse-report.txt`` in the test's tmp directory (and printed with ``-s``).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from mlradar._model import ParsedFeed
from mlradar._sources import feed as feed_module
from mlradar._sources.discovery import sniff
from mlradar._sources.fastparse import FastResult, parse_clean
from mlradar._sources.feed import parse_feed
from mlradar._sources.prepare import prepare_xml
from mlradar.exceptions import ParseError

_OFF = FastResult(None, "switched off")


def _outcome(data: bytes, url: str) -> ParsedFeed | str:
    try:
        return parse_feed(data, url)
    except ParseError as error:
        return f"ParseError: {error}"


def _fast_reason(data: bytes) -> str | None:
    """Why parse_feed would not take the fast path on ``data`` (None: it would)."""
    if sniff(data, None) not in ("feed", "xml"):
        return "not XML (JSON, HTML, text or binary): parsed without feedparser"
    prepared = prepare_xml(data, None)
    return parse_clean(prepared.data, prepared.charset).reason


def _compare(
    files: list[Path], root: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Counter[str], list[str], list[str]]:
    """(counts, the fallback lines, the differences) over ``files``."""
    counts: Counter[str] = Counter()
    fallbacks: list[str] = []
    differences: list[str] = []
    for path in files:
        rel = str(path.relative_to(root))
        data = path.read_bytes()
        url = f"http://127.0.0.1/{rel}"
        reason = _fast_reason(data)
        fast = _outcome(data, url)
        with monkeypatch.context() as m:
            m.setattr(feed_module, "parse_clean", lambda data, charset: _OFF)
            slow = _outcome(data, url)
        if reason is not None:
            counts["fallback"] += 1
            fallbacks.append(f"{rel}: {reason}")
            continue
        counts["fast"] += 1
        if isinstance(slow, ParsedFeed):
            counts["fast entries"] += len(slow.entries)
        if fast != slow:
            differences.append(_describe(rel, fast, slow))
    return counts, fallbacks, differences


def _describe(rel: str, fast: ParsedFeed | str, slow: ParsedFeed | str) -> str:
    if isinstance(fast, str) or isinstance(slow, str):
        return f"{rel}: fast {str(fast)[:200]!r} / feedparser {str(slow)[:200]!r}"
    lines = [f"{rel}:"]
    for name in ("title", "home_url", "warning"):
        if getattr(fast, name) != getattr(slow, name):
            lines.append(f"  feed {name}: {getattr(fast, name)!r} / {getattr(slow, name)!r}")
    if len(fast.entries) != len(slow.entries):
        lines.append(f"  {len(fast.entries)} entries / {len(slow.entries)}")
    for i, (a, b) in enumerate(zip(fast.entries, slow.entries, strict=False)):
        for name in a.__slots__:
            if getattr(a, name) != getattr(b, name):
                x, y = str(getattr(a, name))[:150], str(getattr(b, name))[:150]
                lines.append(f"  entry {i} {name}: {x!r} / {y!r}")
    return "\n".join(lines)


def _report(tmp_path: Path, name: str, counts: Counter[str], fallbacks: list[str]) -> None:
    reasons = Counter(line.split(": ", 1)[1].split(":")[0][:60] for line in fallbacks)
    text = "\n".join(
        [
            f"{name}: {dict(counts)}",
            "fallback reasons: " + repr(dict(reasons.most_common())),
            *fallbacks,
        ]
    )
    (tmp_path / "fastparse-report.txt").write_text(text + "\n")
    print(f"\n{text}")


def test_real_feeds_fast_and_exact(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = shared_data / "feeds"
    files = sorted(p for p in root.rglob("*") if p.is_file())
    counts, fallbacks, differences = _compare(files, root, monkeypatch)
    _report(tmp_path, "real feeds", counts, fallbacks)
    assert not differences, "\n".join(differences)
    # Every real RSS/Atom feed is clean: the fast path must take them all (the rest are
    # the JSON Feed, sitemaps and the like).
    assert counts["fast entries"] >= 4000
    assert not [f for f in fallbacks if f.endswith(".xml: expat") or "fast parser failed" in f]


@pytest.mark.slow
@pytest.mark.parametrize("corpus", ["feedparser", "miniflux", "reader"])
def test_corpora_exact_where_fast(
    corpus: str, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = shared_data / "feed-corpus" / corpus
    files = sorted(p for p in root.rglob("*") if p.is_file())
    assert files
    counts, fallbacks, differences = _compare(files, root, monkeypatch)
    _report(tmp_path, corpus, counts, fallbacks)
    assert not differences, "\n".join(differences)
    assert counts["fast"] + counts["fallback"] == len(files)
