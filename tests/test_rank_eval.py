"""The evaluation harness: metrics, task construction without leaks, and a smoke run
on a slice of the real arXiv data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlradar._rank import eval as ev
from mlradar._rank.corpus import Corpus, Doc, read_snapshot
from mlradar.exceptions import InvalidInputError


def test_ranking_metrics_on_a_known_ranking() -> None:
    candidates = np.arange(100, dtype=np.int64)
    scores = -candidates.astype(np.float32)  # row 0 first
    relevant = np.array([0, 2, 99])
    recall, ndcg = ev.ranking_metrics(scores, candidates, relevant)
    assert recall == pytest.approx(2 / 3)
    ideal = 1 + 1 / np.log2(3) + 1 / np.log2(4)
    assert ndcg == pytest.approx((1 + 1 / np.log2(4)) / ideal)
    assert ev.ranking_metrics(scores, candidates, np.array([500])) == (0.0, 0.0)


def doc(key: str, day: int, authors: tuple[str, ...], cats: tuple[str, ...] = ("cs.LG",)) -> Doc:
    return Doc(key, f"title {key}", f"abstract {key}", authors, cats, day)


def test_author_tasks_split_at_the_middle_paper_and_skip_same_day_ties() -> None:
    docs = [doc(f"a{i}", 100 + i, ("Ada",)) for i in range(7)]
    docs += [doc(f"b{i}", 200, ("Bob",)) for i in range(6)]  # all one day: cannot split
    docs += [doc(f"c{i}", 300 + i, ("Cy",)) for i in range(5)]  # too few papers
    tasks = ev.author_tasks(Corpus(tuple(docs)), limit=10, seed=0)
    assert [t.name for t in tasks] == ["Ada"]
    t = tasks[0]
    assert list(t.positives) == [0, 1, 2]
    assert list(t.relevant) == [3, 4, 5, 6]
    assert t.cut_day == 103
    assert ev.author_tasks(Corpus(tuple(docs)), limit=0, seed=0) == []


def test_category_tasks_draw_positives_before_the_cut_only() -> None:
    docs = [doc(f"x{i}", i, ("X",), ("cs.RO",) if i % 20 == 0 else ("cs.CV",)) for i in range(1000)]
    corpus = Corpus(tuple(docs))
    tasks = ev.category_tasks(corpus, 3, 2, seed=1, cut_quantile=0.7, kind="cat-cold")
    # cs.CV holds 95% of the corpus: too broad to be a topic.
    assert {t.name.split("#")[0] for t in tasks} == {"cs.RO"}
    days = corpus.days
    for t in tasks:
        assert len(t.positives) == 3
        assert np.all(days[t.positives] < t.cut_day)
        assert np.all(days[t.relevant] >= t.cut_day)


def test_read_snapshot_reports_bad_input_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1"}\n')
    with pytest.raises(InvalidInputError, match=r"bad\.jsonl:1"):
        read_snapshot(bad)
    with pytest.raises(InvalidInputError):
        read_snapshot(tmp_path / "missing.jsonl.gz")


def test_eval_smoke_on_real_arxiv_data(shared_data: Path) -> None:
    corpus = read_snapshot(shared_data / "arxiv" / "papers.jsonl.gz", limit=3000)
    features = ev.build_features(corpus)
    options = ev.EvalOptions(author_tasks=6, cat_draws=1)
    tasks = ev.build_tasks(corpus, options)
    tasks = [t for t in tasks if t.kind == "author"] + [t for t in tasks if t.kind != "author"][:6]
    assert any(t.kind == "author" for t in tasks)
    report = ev.run_eval(corpus, features, ev.default_methods(False), tasks, measure_memory=True)
    methods = {r.method for r in report.rows}
    assert methods == {m.name for m in ev.default_methods(False)}
    for row in report.rows:
        assert 0.0 <= row.recall_at_50 <= 1.0
        assert 0.0 <= row.ndcg_at_10 <= 1.0
        assert row.seconds_per_rec > 0
    # Author names give the author's later papers away: the leaky baseline must profit.
    leaky = report.get("arxiv-sanity (with authors)", "author")
    fair = report.get("arxiv-sanity (no authors)", "author")
    assert leaky.recall_at_50 >= fair.recall_at_50
    assert set(report.peak_extra_mb) == methods
