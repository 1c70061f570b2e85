"""strip_accents is scikit-learn's accent stripping, only faster."""

from __future__ import annotations

import sys
import unicodedata

from hypothesis import given
from hypothesis import strategies as st
from sklearn.feature_extraction.text import strip_accents_unicode

from mlradar._content.text import combining_marks, strip_accents


def test_the_scanned_span_holds_every_combining_mark() -> None:
    every = {chr(c) for c in range(sys.maxunicode + 1) if unicodedata.combining(chr(c))}
    assert combining_marks() == every


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_equals_scikit_learn_on_any_text(text: str) -> None:
    assert strip_accents(text) == strip_accents_unicode(text)


def test_real_words() -> None:
    for word in ["Rémi Münos", "naïve “façade”", "Ångström", "ǅemal", "ﬁne", "ạ̀", "plain"]:
        assert strip_accents(word) == strip_accents_unicode(word)
    assert strip_accents("Rémi — “naïve”") == "Remi — “naive”"
