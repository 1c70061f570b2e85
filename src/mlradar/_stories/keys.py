"""What an item is found by when it joins a story: its lookup keys, and near-duplicates.

Three kinds of key, strongest first:

* a **paper** key (``arxiv:2503.11677``, ``doi:10.1/x``, ``openreview:abc``): the item is
  about one paper.  An item naming several arXiv papers (a newsletter issue, a survey
  post) is a digest: it mentions each of them (``item_refs`` keeps them all) but joins
  none of their stories, or one issue would weld ten papers into one story;
* a **link** key (``url:<canonical URL>``): the item's own page, and for a discussion post
  (Hacker News, Reddit) the page it links, so a thread and the post it discusses are one;
* a **near** key (``near:...``): buckets of a MinHash over the title's words.  Two items
  sharing one are only *candidates*; :func:`near_duplicates` decides with rapidfuzz on the
  title and the text's opening, so a common word never joins two posts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache

import mmh3
import numpy as np
from rapidfuzz import fuzz

from mlradar._content.text import strip_accents
from mlradar._identity.arxiv import extract_arxiv_ids
from mlradar._identity.urls import canonical_url_or_none
from mlradar._model import ItemKeys, ParsedEntry, StoryInput

#: Source kinds whose items are listings of papers themselves: their titles are the
#: papers' own, the best a story can show.
PAPER_KINDS = frozenset({"arxiv", "openreview", "pmlr"})
#: Source kinds whose items discuss a page elsewhere.
DISCUSSION_KINDS = frozenset({"hackernews", "hn", "reddit"})
#: Schemes a proceedings connector gives for the paper an item *is* (not merely cites).
_OWN_SCHEMES = ("openreview", "pmlr", "acl", "dblp", "s2")

#: Titles with fewer words than this are too generic ("Update", "Weekly links") to join
#: anything by their words.
MIN_NEAR_WORDS = 4
#: MinHash bands and rows per band: a pair of titles with word-set Jaccard similarity J is
#: a candidate with probability 1 - (1 - J**ROWS)**BANDS: 0.96 at J=0.8, 0.6 at J=0.6,
#: 0.0006 at J=0.1 (so common words cost few candidates).
BANDS, ROWS = 6, 4
#: rapidfuzz scores (0..100) two candidates must reach to be one story.
TITLE_RATIO = 90.0
TEXT_RATIO = 75.0
#: Characters of text the near-duplicate check compares (the openings).
TEXT_CHARS = 600
#: Below this many characters of text on either side, the titles decide alone, strictly.
MIN_TEXT = 250
TITLE_ONLY_RATIO = 97.0
#: How alike the openings of two items with the same short title must be.
SHORT_TITLE_TEXT_RATIO = 90.0

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_WORD = re.compile(r"[^\W_]+")
_NUMBER = re.compile(r"\d+(?:\.\d+)*")


@lru_cache(maxsize=8192)
def fold(text: str | None) -> str:
    """Lowercase words without accents or punctuation, single-spaced.

    Cached: a batch compares one item's title and opening with several candidates."""
    if not text:
        return ""
    if text.isascii():
        return " ".join(_WORD.findall(text.lower()))
    plain = strip_accents(text).casefold()
    return " ".join(_WORD.findall(plain))


def title_rank(kind: str, title: str | None) -> int:
    """Where a title is best taken from (lower is better): a paper's own listing, then a
    post or feed entry, then a discussion thread (whose titles editorialize)."""
    if not title or not title.strip():
        return 9
    if kind in PAPER_KINDS:
        return 0
    if kind in DISCUSSION_KINDS:
        return 2
    return 1


def _url_key(url: str | None) -> str | None:
    canonical = canonical_url_or_none(url) if url else None
    return None if canonical is None else "url:" + canonical


def _paper_keys(item: StoryInput) -> tuple[tuple[str, ...], str | None]:
    arxiv = list(dict.fromkeys(item.arxiv_ids))
    for url in (item.url, item.link):
        if url:
            arxiv += [a for a in extract_arxiv_ids(url) if a not in arxiv]
    if len(arxiv) > 1:
        return (), None  # a digest: it mentions each paper, it is none of them
    keys = [f"arxiv:{a}" for a in arxiv]
    own = [f"{scheme}:{value}" for scheme, value in item.refs if scheme in _OWN_SCHEMES]
    if len(own) == 1:
        keys += own
    if not arxiv and not own and len(set(item.dois)) == 1:
        keys.append(f"doi:{item.dois[0]}")
    return tuple(keys), (arxiv[0] if arxiv else None)


def minhash_bands(words: Iterable[str], bands: int = BANDS, rows: int = ROWS) -> tuple[str, ...]:
    """``near:<band>:<hash>`` keys of a word set (MinHash with seeded murmur3)."""
    unique = set(words)
    if not unique:
        return ()
    # One 128-bit murmur3 per word and seed gives four 32-bit hash functions at once: its
    # 16 bytes, little-endian, are the four lanes in order.  The minima are taken by numpy
    # over all the words' digests at once (3x the speed of a Python loop over the lanes,
    # the same values: tests/test_stories_keys.py holds them to that loop).
    calls = -(-bands * rows // 4)
    digest, seeds = mmh3.hash_bytes, range(calls)
    lanes = np.frombuffer(b"".join([digest(w, c) for w in unique for c in seeds]), "<u4")
    mins = lanes.reshape(len(unique), calls * 4).min(axis=0).tolist()
    h = mmh3.hash
    return tuple(
        [f"near:{b}:{h(str(mins[b * rows : (b + 1) * rows]), 0, False):x}" for b in range(bands)]
    )


def near_keys(title: str | None) -> tuple[str, ...]:
    """The exact folded title (any length: a short title joins only with a matching
    text, see :func:`near_duplicates`), and MinHash buckets of longer titles' words."""
    words = fold(title).split()
    if not words:
        return ()
    exact = "title:" + " ".join(words)
    if len(words) < MIN_NEAR_WORDS:
        return (exact,)
    return (exact, *minhash_bands(words))


def item_keys(item: StoryInput) -> ItemKeys:
    """The keys ``item`` joins stories by (see the module docstring)."""
    paper, arxiv_id = _paper_keys(item)
    links = [_url_key(item.url)]
    if item.link and item.link != item.url:
        links.append(_url_key(item.link))
    discussed = item.discussed or item.source_kind in DISCUSSION_KINDS
    if discussed and len(item.links) == 1:
        # A self-post (an Ask HN, a Reddit text post) about one page: it discusses that page.
        links.append(_url_key(item.links[0]))
    link = tuple(dict.fromkeys(k for k in links if k is not None))
    return ItemKeys(paper, link, near_keys(item.title), arxiv_id)


def entry_keys(entry: ParsedEntry, source_kind: str) -> ItemKeys:
    """The keys of a parsed entry, computed before it is stored (in the parse worker, off
    the writer): what :func:`item_keys` gives the join's input for it."""
    return item_keys(
        StoryInput(
            item_id=0,
            source_id=0,
            source_kind=source_kind,
            title=entry.title,
            text="",
            url=entry.url,
            link=entry.link,
            seen_at=_EPOCH,
            arxiv_ids=entry.arxiv_ids,
            dois=entry.dois,
            refs=entry.refs,
            links=entry.links,
            discussed=entry.discussion is not None,
        )
    )


def near_duplicates(title_a: str | None, text_a: str, title_b: str | None, text_b: str) -> bool:
    """Whether two items (from different sources) are the same post: near-identical
    titles with the same numbers in them, and near-identical openings where both have
    text (else stricter titles)."""
    a, b = fold(title_a), fold(title_b)
    if not a or not b:
        return False
    if len(a.split()) < MIN_NEAR_WORDS or len(b.split()) < MIN_NEAR_WORDS:
        # "Grok 4", "Weekly links": the same short title says little; the same text must.
        return a == b and _same_text(text_a, text_b, SHORT_TITLE_TEXT_RATIO) is True
    # "Llama 3" and "Llama 4", "Import AI 401" and "402": one number apart, two posts.
    if _NUMBER.findall(a) != _NUMBER.findall(b):
        return False
    title = fuzz.ratio(a, b)
    if title < TITLE_RATIO:
        return False
    same = _same_text(text_a, text_b, TEXT_RATIO)
    return title >= TITLE_ONLY_RATIO if same is None else same


def _same_text(text_a: str, text_b: str, ratio: float) -> bool | None:
    """Whether the openings match (None: one of them is too short to say)."""
    ta, tb = fold(text_a[: TEXT_CHARS * 2]), fold(text_b[: TEXT_CHARS * 2])
    if len(ta) < MIN_TEXT or len(tb) < MIN_TEXT:
        return None
    # A summary and the full post open alike: look for the shorter opening in the other.
    if len(ta) > len(tb):
        ta, tb = tb, ta
    return fuzz.partial_ratio(ta[:TEXT_CHARS], tb) >= ratio


__all__ = [
    "DISCUSSION_KINDS",
    "PAPER_KINDS",
    "ItemKeys",
    "entry_keys",
    "fold",
    "item_keys",
    "minhash_bands",
    "near_duplicates",
    "near_keys",
    "title_rank",
]
