"""Every file of the three feed corpora (feedparser's 2,107, miniflux's and reader's)
served on loopback and updated as one batch, each file's stored entries counted against
what feedparser itself reports for it.

Where the counts differ, each difference must have one of the reasons below, decided
from feedparser's own reading of the file (not from mlradar's):

* ``json feed``: a JSON Feed, which feedparser 6 does not read (it reports none);
* ``nothing to store``: an entry with no id, no http(s) link, no title, text, date,
  category or author (only a GeoRSS point, an iTunes flag, a comments URL...): no item
  could show it or tell it from another;
* ``verbatim repeat``: the same entry twice (same id or link, title, text and dates): one
  item.  Entries that only reuse a guid, with other content, are kept apart (the counts
  then agree);
* ``refused``: the document is not a feed mlradar reads, and the source says why.

The difference of each file is printed, grouped by reason (``pytest -s``).
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import feedparser
import pytest

from mlradar import make_radar
from mlradar._content.html import html_to_text
from tests.feedserver import serving

CORPORA = ("feedparser", "miniflux", "reader")


def _text(value: Any) -> str:
    return html_to_text(value).strip() if isinstance(value, str) else ""


def _stores_something(e: Any) -> bool:
    link = e.get("link") or ""
    return bool(
        e.get("id")
        or link.startswith(("http://", "https://"))
        or _text(e.get("title"))
        or _text(e.get("summary"))
        or any(_text(c.get("value")) for c in e.get("content") or ())
        or dict.get(e, "published")
        or dict.get(e, "updated")
        or any((t.get("term") or t.get("label")) for t in e.get("tags") or ())
        or e.get("author")
    )


def _identity(e: Any) -> tuple[str, ...]:
    body = (e.get("summary") or "") + "".join(c.get("value", "") for c in e.get("content") or ())
    dates = (str(dict.get(e, "published", "")), str(dict.get(e, "updated", "")))
    return (e.get("id") or e.get("link") or "", e.get("title") or "", body, *dates)


def explain(data: bytes, stored: int, error: str | None) -> tuple[int, dict[str, int]]:
    """(feedparser's count, the reasons that account for ``stored`` differing from it)."""
    parsed = feedparser.parse(data)
    entries = list(parsed.entries)
    reasons: dict[str, int] = {}
    if not entries and data.lstrip()[:1] in (b"{", b"["):
        try:
            items = json.loads(data).get("items")
        except (ValueError, AttributeError):
            items = None
        if isinstance(items, list):
            reasons["json feed"] = stored
        return 0, reasons
    if error is not None:
        reasons["refused"] = len(entries)
        return len(entries), reasons
    kept = [e for e in entries if _stores_something(e)]
    if len(kept) < len(entries):
        reasons["nothing to store"] = len(entries) - len(kept)
    unique = {_identity(e) for e in kept}
    if len(unique) < len(kept):
        reasons["verbatim repeat"] = len(kept) - len(unique)
    return len(entries), reasons


@pytest.mark.slow
def test_the_feed_corpora_update_as_one_batch_and_count_as_feedparser(
    shared_data: Path, any_db_url: str
) -> None:
    files = {
        name: sorted(p for p in (shared_data / "feed-corpus" / name).rglob("*") if p.is_file())
        for name in CORPORA
    }
    assert len(files["feedparser"]) == 2107
    every = [f for name in CORPORA for f in files[name]]
    radar = make_radar(any_db_url, allow_private_networks=True, total_timeout=60.0)
    began = time.monotonic()
    with serving() as server:
        ids = {}
        for i, f in enumerate(every):
            url = server.add(f"/{i}/{f.name}", f.read_bytes(), content_type="application/xml")
            ids[radar.add_source(url, discover=False).id] = f
        summary = radar.update()
    elapsed = time.monotonic() - began

    assert len(summary.sources) == len(every)
    unexplained = []
    by_reason: dict[str, list[str]] = defaultdict(list)
    outcomes: Counter[str] = Counter()
    root = shared_data / "feed-corpus"
    for s in summary.sources:
        source, path = radar.source(s.source_id), ids[s.source_id]
        rel = str(path.relative_to(root))
        # Zero crashes: every file ends as stored entries, a valid empty feed, or an
        # error of its own, in one line, that is not a bug's.
        assert source.state.last_fetched_at is not None, rel
        if s.failed:
            assert source.state.last_error == s.error and "\n" not in (s.error or ""), rel
            assert not (s.error or "").startswith("unexpected"), (rel, s.error)
            outcomes["recorded error"] += 1
        else:
            assert source.state.last_status == 200 and source.item_count == s.new, rel
            outcomes["stored entries" if s.new else "valid feed without entries"] += 1
        fp_count, reasons = explain(path.read_bytes(), source.item_count, s.error)
        if source.item_count == fp_count:
            continue
        if "json feed" in reasons:
            accounted = fp_count + reasons["json feed"]
        else:
            accounted = fp_count - sum(reasons.values())
        line = f"{rel}: feedparser {fp_count}, stored {source.item_count}"
        if accounted != source.item_count or not reasons:
            unexplained.append(f"{line} ({reasons or 'no reason'}; error: {s.error})")
            continue
        for reason in reasons:
            by_reason[reason].append(line)
    radar.close()

    print(f"\n{len(every)} files in {elapsed:.0f} s: {dict(outcomes)}")
    for reason, lines in sorted(by_reason.items()):
        print(f"{reason}: {len(lines)} files")
        for line in lines:
            print("   ", line)
    assert not unexplained, "\n".join(unexplained)
    assert outcomes["stored entries"] > 1000
    assert outcomes["recorded error"] < 50
