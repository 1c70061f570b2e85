"""The MinHash keys of titles: the vectorized bands equal the plain loop they replaced.

Stored ``near:`` keys of earlier items must keep matching those of new ones, so the
values are held to the reference loop below and to a few literal keys."""

from __future__ import annotations

import mmh3
from hypothesis import given, settings
from hypothesis import strategies as st

from mlradar._stories.keys import BANDS, ROWS, minhash_bands

_MASK = 0xFFFFFFFF


def reference_bands(words: list[str], bands: int, rows: int) -> tuple[str, ...]:
    """The loop the keys were first computed by (commit 1eb2b06 and before)."""
    unique = set(words)
    if not unique:
        return ()
    calls = -(-bands * rows // 4)
    mins = [_MASK] * (calls * 4)
    for w in unique:
        for c in range(calls):
            h = mmh3.hash128(w, seed=c)
            for q in range(4):
                v = (h >> (32 * q)) & _MASK
                if v < mins[c * 4 + q]:
                    mins[c * 4 + q] = v
    return tuple(
        f"near:{b}:{mmh3.hash(str(mins[b * rows : (b + 1) * rows]), signed=False):x}"
        for b in range(bands)
    )


# No lone surrogates: titles are decoded text, and mmh3 refuses to encode one.
_WORDS = st.lists(
    st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12), max_size=40
)


@settings(max_examples=300, deadline=None)
@given(_WORDS, st.sampled_from([(BANDS, ROWS), (5, 3), (1, 1), (3, 8)]))
def test_bands_equal_the_reference_loop(words: list[str], shape: tuple[int, int]) -> None:
    bands, rows = shape
    assert minhash_bands(words, bands, rows) == reference_bands(words, bands, rows)


def test_stored_keys_do_not_move() -> None:
    assert minhash_bands(["attention", "is", "all", "you", "need"]) == (
        "near:0:23465e25",
        "near:1:d2bdb00d",
        "near:2:d1387c9d",
        "near:3:99e1dc43",
        "near:4:97f1e829",
        "near:5:7a93cf87",
    )
    assert minhash_bands(["ümlaut", "中文", "x"])[0] == "near:0:5722609b"
    assert minhash_bands([]) == ()
