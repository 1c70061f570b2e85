"""The discussion and recency priors: pure functions, checked for shape and bounds."""

from __future__ import annotations

import numpy as np
import pytest

from mlradar._config import Settings
from mlradar._rank.signals import (
    MentionRow,
    SignalConfig,
    describe_places,
    discussion_prior,
    is_listing_source,
    passed,
    recency_prior,
    rerank,
    shortlist_is_enough,
    summarize_discussion,
)


def test_discussion_prior_is_monotone_log_damped_and_capped() -> None:
    values = discussion_prior(np.arange(0, 20), cap=8)
    assert values[0] == 0.0
    assert np.all(np.diff(values[:9]) > 0)  # more places, more lift
    assert np.all(np.diff(np.diff(values[:9])) < 0)  # each new place adds less
    assert np.all(values[8:] == pytest.approx(1.0))  # capped
    assert np.all((values >= 0) & (values <= 1))
    assert discussion_prior([-3], cap=8)[0] == 0.0


def test_recency_prior_is_zero_on_the_newest_day_and_halves_per_half_life() -> None:
    newest = 20_000
    days = np.array([newest, newest - 7, newest - 14, newest - 28, newest - 10_000])
    values = recency_prior(days, newest, 14.0)
    assert values[0] == 0.0
    assert values[2] == pytest.approx(-0.5)
    assert values[3] == pytest.approx(-0.75)
    assert np.all(np.diff(values) < 0)  # older, lower
    assert np.all((values >= -1) & (values <= 0))
    assert np.all(recency_prior(days, newest, 0.0) == 0)  # a zero half-life turns it off
    assert recency_prior([newest + 3], newest, 14.0)[0] == 0.0  # never a bonus


def test_zero_weights_leave_the_model_order_and_scores_alone() -> None:
    rng = np.random.default_rng(0)
    model = rng.normal(size=50)
    places = rng.integers(0, 10, size=50)
    days = rng.integers(19_990, 20_000, size=50)
    off = SignalConfig(discussion_weight=0.0, recency_weight=0.0)
    result = rerank(model, places, days, 20_000, float(model.std()), off)
    assert np.array_equal(result.order, np.argsort(-model, kind="stable"))
    assert np.allclose(result.score, model)
    by_discussion, by_recency = result.lifted(np.arange(50))
    assert not by_discussion.any()
    assert not by_recency.any()


def test_rerank_terms_are_bounded_by_the_weights_in_spreads() -> None:
    rng = np.random.default_rng(1)
    model = rng.normal(scale=3.0, size=200)
    places = rng.integers(0, 30, size=200)
    days = rng.integers(19_900, 20_000, size=200)
    cfg = SignalConfig()
    spread = float(model.std())
    result = rerank(model, places, days, 20_000, spread, cfg)
    assert np.all(result.discussion >= 0)
    assert np.all(result.discussion <= cfg.discussion_weight * spread + 1e-9)
    assert np.all(result.recency <= 0)
    assert np.all(result.recency >= -cfg.recency_weight * spread - 1e-9)
    assert np.allclose(result.score, model + result.discussion + result.recency)
    assert np.all(np.diff(result.score[result.order]) <= 0)  # sorted best first


def test_discussion_breaks_near_ties_but_does_not_beat_relevance() -> None:
    cfg = SignalConfig()
    # Two about equally relevant candidates, a weaker one much discussed, one far below.
    model = np.array([2.00, 1.98, 0.4, -1.0])
    places = np.array([0, 2, 30, 0])
    days = np.full(4, 20_000)
    result = rerank(model, places, days, 20_000, 1.0, cfg)
    assert list(result.order) == [1, 0, 2, 3]
    assert list(result.model_rank) == [0, 1, 2, 3]
    by_discussion, by_recency = result.lifted(np.arange(4))
    assert list(by_discussion) == [False, True, False, False]
    assert not by_recency.any()
    # Among the shown rows only: the much-discussed third passed nobody shown with it.
    by_discussion, _ = result.lifted(np.array([2, 3]))
    assert not by_discussion.any()


def test_a_one_day_window_gets_no_recency_term() -> None:
    model = np.array([1.0, 0.9, 0.8])
    result = rerank(model, [0, 0, 0], [20_000] * 3, 20_000, 1.0, SignalConfig())
    assert np.all(result.recency == 0)
    assert np.allclose(result.score, model)


def test_recency_prefers_the_newer_of_two_equals() -> None:
    model = np.array([1.0, 1.0])
    result = rerank(model, [0, 0], [19_990, 20_000], 20_000, 1.0, SignalConfig())
    assert list(result.order) == [1, 0]
    assert list(result.lifted(np.arange(2))[1]) == [False, True]


def test_passed_compares_with_the_model_order_and_ignores_ties() -> None:
    ranks = np.array([0, 1, 2, 3])
    assert list(passed(ranks, [3.0, 3.0, 2.0, 2.5])) == [False, False, False, True]
    assert list(passed(ranks, [1.0, 2.0, 3.0, 0.0])) == [False, True, True, False]
    assert list(passed(np.array([5, 9]), [1.0, 1.0])) == [False, False]


def test_the_shortlist_bound() -> None:
    cfg = SignalConfig(discussion_weight=0.5)
    assert shortlist_is_enough(None, 0.0, 1.0, cfg)
    assert shortlist_is_enough(1.0, 1.5, 1.0, cfg)  # the best left out can only tie
    assert not shortlist_is_enough(1.0, 1.4, 1.0, cfg)
    assert shortlist_is_enough(1.0, 1.4, 0.5, cfg)  # the lift is in spreads
    assert shortlist_is_enough(1.0, 1.0, 1.0, SignalConfig(discussion_weight=0.0))


def test_discussion_counts_distinct_places_and_leaves_arxiv_listings_out() -> None:
    rows = [
        MentionRow(1, 1, 10, "hackernews", "https://news.ycombinator.com/", "HN"),
        MentionRow(1, 2, 10, "hackernews", "https://news.ycombinator.com/", "HN"),
        MentionRow(1, 3, 11, "feed", "https://blog.example/feed.xml", "a blog"),
        MentionRow(1, 4, 12, "feed", "https://rss.arxiv.org/rss/cs.LG", "arXiv"),
        MentionRow(2, 5, 13, "arxiv", "https://export.arxiv.org/api", "query"),
    ]
    got = summarize_discussion(rows)
    assert got[1].items == 4
    assert got[1].places == ("a blog", "HN")
    assert got[2].items == 1
    assert got[2].places == ()
    assert is_listing_source("feed", "http://export.arxiv.org/rss/cs.LG")
    assert not is_listing_source("feed", "https://notarxiv.org/feed")
    assert describe_places(("HN",)) == "discussed in 1 place (HN)"
    assert describe_places(("a", "b", "c", "d")) == "discussed in 4 places (a, b, c, ...)"


def test_settings_defaults_are_the_signal_defaults() -> None:
    settings, cfg = Settings(), SignalConfig()
    assert settings.rank_discussion_weight == cfg.discussion_weight
    assert settings.rank_recency_weight == cfg.recency_weight
    assert settings.rank_recency_half_life_days == cfg.recency_half_life_days
    with pytest.raises(ValueError):
        SignalConfig(discussion_weight=-1.0)
