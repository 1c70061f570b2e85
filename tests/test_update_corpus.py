"""The whole feedparser test corpus through ``update`` as one batch."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlradar import make_radar
from tests.feedserver import serving


@pytest.mark.slow
def test_feedparser_corpus_updates_as_one_batch(shared_data: Path, db_url: str) -> None:
    corpus = shared_data / "feed-corpus" / "feedparser"
    files = sorted(p for p in corpus.rglob("*") if p.is_file())
    assert len(files) == 2107
    radar = make_radar(db_url, allow_private_networks=True)
    with serving() as server:
        ids = {}
        for i, f in enumerate(files):
            url = server.add(f"/{i}/{f.name}", f.read_bytes(), content_type="application/xml")
            ids[radar.add_source(url, discover=False).id] = f
        summary = radar.update()

    assert len(summary.sources) == len(files)
    failed = [s for s in summary.sources if s.failed]
    stored = [s for s in summary.sources if s.new]
    # Every file ends either as stored entries, as a valid feed that has none, or as an
    # error recorded on its source; nothing crashes the run.
    for s in summary.sources:
        source = radar.source(s.source_id)
        assert source.state.last_fetched_at is not None
        if s.failed:
            assert source.state.last_error == s.error and "\n" not in s.error
        else:
            assert source.state.last_status == 200 and source.item_count == s.new
    assert len(stored) > 1000
    assert len(failed) < 50, [(ids[s.source_id].name, s.error) for s in failed]
    radar.close()
    print(
        f"\n{len(stored)} stored entries, {len(failed)} recorded errors, "
        f"{len(files) - len(stored) - len(failed)} valid feeds without entries"
    )
