"""The evaluation harness: metrics, task construction without leaks, and a smoke run
on a slice of the real arXiv data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlradar._rank import eval as ev
from mlradar._rank import eval_tasks as ev_tasks
from mlradar._rank.corpus import Corpus, Doc, day_to_date, read_snapshot
from mlradar.exceptions import InvalidInputError


def test_ranking_metrics_on_a_known_ranking() -> None:
    candidates = np.arange(100, dtype=np.int64)
    scores = -candidates.astype(np.float32)  # row 0 first
    relevant = np.array([0, 2, 99, 500])  # 500 is no candidate: it does not count
    m = ev.ranking_metrics(scores, candidates, relevant)
    assert m.recall_at_50 == pytest.approx(2 / 3)
    ideal = 1 + 1 / np.log2(3) + 1 / np.log2(4)
    assert m.ndcg_at_10 == pytest.approx((1 + 1 / np.log2(4)) / ideal)
    assert m.precision_at_10 == pytest.approx(0.2)
    # Hits at ranks 1, 3 and 100: AP = (1/1 + 2/3 + 3/100) / 3.
    assert m.average_precision == pytest.approx((1 + 2 / 3 + 3 / 100) / 3)
    assert ev.ranking_metrics(scores, candidates, np.array([500])) == ev.Metrics(0, 0, 0, 0)


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
        for value in (row.recall_at_50, row.ndcg_at_10, row.precision_at_10, row.map):
            assert 0.0 <= value <= 1.0
        assert row.seconds_per_rec > 0
    # Author names give the author's later papers away: the leaky baseline must profit.
    leaky = report.get("arxiv-sanity (with authors)", "author")
    fair = report.get("arxiv-sanity (no authors)", "author")
    assert leaky.recall_at_50 >= fair.recall_at_50
    assert set(report.peak_extra_mb) == methods


def test_curator_tasks_learn_from_earlier_picks_and_rank_the_days_new_papers() -> None:
    docs = [doc(f"p{i}", 100 + i // 10, ("X",)) for i in range(60)]  # 10 papers a day
    picks = [
        ev_tasks.Picks(day_to_date(100), ("p1", "p2", "p3", "p4")),
        ev_tasks.Picks(day_to_date(102), ("p21", "p22", "p5")),  # p5: listed on day 100
        ev_tasks.Picks(day_to_date(104), ("p41", "p44", "nowhere")),
    ]
    corpus = Corpus(tuple(docs))
    test = ev_tasks.curator_tasks(corpus, picks, split="test", few_draws=2)
    dev = ev_tasks.curator_tasks(corpus, picks, split="dev", few_draws=2)
    # Days alternate between the splits: 102 is the first task day (test), 104 dev.
    assert {t.name for t in test} == {"1970-04-13", "1970-04-13#0", "1970-04-13#1"}
    assert {t.cut_day for t in dev} <= {104, 104 - ev_tasks.WEEK_DAYS + 1}
    day = next(t for t in test if t.kind == "curator")
    assert list(day.positives) == [1, 2, 3, 4]  # the earlier snapshot's picks
    assert list(day.candidates) == list(range(20, 30))  # that day's new papers
    assert list(np.intersect1d(day.relevant, day.candidates)) == [21, 22]
    few = [t for t in test if t.kind == "curator-3"]
    assert all(len(t.positives) == 3 and set(t.positives) <= {1, 2, 3, 4} for t in few)
    week = next(t for t in test if t.kind == "curator-week")
    assert week.candidates is not None and min(week.candidates) == 0  # days 96..102
    late = next(t for t in dev if t.kind == "curator")
    assert set(late.positives) == {1, 2, 3, 4, 5, 21, 22}


def test_the_curator_and_labs_tasks_read_the_real_feeds(shared_data: Path) -> None:
    picks = ev_tasks.curator_picks(shared_data / "feeds" / "hf-daily-papers")
    assert len(picks) == 11  # ten daily snapshots and latest.json
    assert picks[0].day.isoformat() == "2025-02-07"
    assert all(len(p.arxiv_ids) >= 8 for p in picks)
    cited = ev_tasks.lab_citations(shared_data / "feeds" / "labs")
    assert sum(len(c.arxiv_ids) for c in cited) > 100


def test_quick_corpus_keeps_every_curator_week_and_fills_up(shared_data: Path) -> None:
    corpus = read_snapshot(shared_data / "arxiv" / "papers.jsonl.gz", limit=5000)
    feeds = shared_data / "feeds"
    small = ev.quick_corpus(corpus, feeds, size=1500)
    assert len(small) == 1500
    assert list(small.days) == sorted(small.days)
