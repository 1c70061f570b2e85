"""``Radar.search`` with embeddings: the semantic half fused in, run beside the full-text
half, with query embeddings cached and bad queries reported as the full-text half does."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from mlradar._papers import store_papers
from mlradar._radar import Radar, make_radar
from mlradar._radar._semantic import QUERY_CACHE
from mlradar.exceptions import SearchQueryError
from mlradar.types import Paper

TOPICS = {
    "diffusion": "diffusion denoising sampler guidance image generation",
    "speech": "speech acoustic audio transcription spoken recognition",
    "robots": "robot manipulation grasping policy dexterous arm",
}
#: Words the papers never use, which the fake model still places in a topic.
SYNONYMS = {"voice": "speech", "gripper": "robots", "noise": "diffusion"}


class TopicEmbedder:
    """A deterministic stand-in: a text's vector is its topic words counted per topic."""

    name = "topic-model"
    dim = 3

    def __init__(self) -> None:
        self.texts: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.texts += texts
        out = np.full((len(texts), 3), 0.05, dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().replace(".", " ").replace(":", " ").split():
                topic = SYNONYMS.get(word, word)
                for k, (name, words) in enumerate(TOPICS.items()):
                    if topic == name or topic in words.split():
                        out[i, k] += 1.0
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def papers() -> list[Paper]:
    out = []
    for n in range(36):
        topic = list(TOPICS)[n % 3]
        words = TOPICS[topic].split()
        out.append(
            Paper(
                arxiv_id=f"2505.{n + 1:05d}",
                title=f"{words[n % 6].title()} {words[(n + 1) % 6]} study {n}",
                authors=("A. Author",),
                categories=("cs.LG",),
                abstract=f"We study {topic}: " + " ".join(words[(n + j) % 6] for j in range(8)),
                first_version_at=date(2025, 5, 1) + timedelta(days=n % 4),
                updated_at=date(2025, 5, 1),
            )
        )
    return out


@pytest.fixture
def model() -> TopicEmbedder:
    return TopicEmbedder()


@pytest.fixture
def radar(db_url: str, model: TopicEmbedder) -> Radar:
    r = make_radar(db_url, embedding_model="topic-model")
    store_papers(r._storage, papers())
    r._rank_embedder = (model,)  # the facade's one embedder, shared by readers and writers
    assert r.embed_rank_index() == 36
    return r


def test_meaning_reaches_papers_that_share_no_word(radar: Radar) -> None:
    assert radar._storage.search("voice") == []  # no paper says "voice"
    hits = radar.search("voice", limit=5)
    assert len(hits) == 5
    for hit in hits:
        paper = radar._storage.get_paper(hit.ref)
        assert paper is not None and paper.abstract.startswith("We study speech")
    # Both halves count: a word that is there, and its topic.
    mixed = radar.search("grasping", limit=10)
    lexical = {h.ref for h in radar._storage.search("grasping", limit=10)}
    assert lexical and lexical <= {h.ref for h in mixed} | lexical
    assert any(h.ref in lexical for h in mixed[:3])


@pytest.mark.parametrize("query", ["voice", "grasping", "denoising sampler", "audio OR arm"])
def test_concurrent_halves_answer_as_sequential_ones(radar: Radar, query: str) -> None:
    together = radar.search(query, limit=8)
    radar._concurrent_search = False
    try:
        one_by_one = radar.search(query, limit=8)
    finally:
        del radar._concurrent_search
    assert together == one_by_one
    assert together == radar.hybrid_search(radar._storage.search(query, limit=8), query, limit=8)


def test_query_embeddings_are_cached(radar: Radar, model: TopicEmbedder) -> None:
    model.texts.clear()
    first = radar.search("voice  recognition", limit=5)
    assert radar.search("voice recognition", limit=5) == first
    assert model.texts == ["voice recognition"]  # embedded once; spacing is not meaning
    for k in range(QUERY_CACHE + 5):
        radar.semantic_search(f"voice {k}", limit=3)
    assert radar._query_vectors is not None and len(radar._query_vectors) == QUERY_CACHE
    model.texts.clear()
    radar.search("voice recognition", limit=5)
    assert model.texts == ["voice recognition"]  # evicted by then: embedded again


@pytest.mark.parametrize("query", ["", "   ", "*", '"" -'])
def test_a_query_with_nothing_to_search_is_reported_by_the_full_text_half(
    radar: Radar, query: str
) -> None:
    with pytest.raises(SearchQueryError):
        radar.search(query)


def test_exhaustive_ranks_every_match(radar: Radar, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mlradar._radar._feeds.RANK_LIMIT", 3)
    since = datetime(2025, 1, 1, tzinfo=UTC)  # a filter: the full-text half alone
    bounded = radar.search("denoising", limit=3, since=since)
    everything = radar.search("denoising", limit=3, since=since, exhaustive=True)
    # Bounded, only the three newest papers that say "denoising" compete.
    assert [h.ref for h in bounded] == ["2505.00031", "2505.00034", "2505.00028"]
    assert [h.ref for h in everything] == ["2505.00031", "2505.00025", "2505.00019"]


def test_a_query_is_embedded_on_one_thread_and_the_count_restored(
    radar: Radar, model: TopicEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []

    class Torch:
        threads = 2

        def get_num_threads(self) -> int:
            return self.threads

        def set_num_threads(self, n: int) -> None:
            self.threads = n

    torch = Torch()
    monkeypatch.setitem(sys.modules, "torch", torch)
    encode = model.encode

    def spy(texts: list[str]) -> np.ndarray:
        seen.append(torch.threads)
        if texts == ["boom"]:
            raise RuntimeError("model failed")
        return encode(texts)

    monkeypatch.setattr(model, "encode", spy)
    radar.semantic_search("voice", limit=3)
    assert seen == [1] and torch.threads == 2
    with pytest.raises(RuntimeError):
        radar.semantic_search("boom", limit=3)
    assert torch.threads == 2
