"""The analyzer and hash our lexical features use, without scikit-learn.

Stored features are hashed 1-2-grams (:class:`~mlradar._rank.features.LexicalEncoder`):
the columns scikit-learn's ``HashingVectorizer`` gives, which is how they were first
computed.  scikit-learn takes a second to import, more than a whole answer (or a small
update) may take, so this module repeats its analyzer (lower case, accents stripped, its
token pattern, its English stop words, then unigrams and bigrams) and its hash
(MurmurHash3, x86 32-bit, seed 0, ``abs(h) % n_features``) with the small ``mmh3``
package.  Featurizing uses them, and so does naming terms: to say *which* words a
recommendation shares with the user's papers, the shown papers' texts are analyzed again
and the columns that weigh most are named.  ``tests/test_rank_hashing.py`` holds both
equal to scikit-learn's, on generated text and on real abstracts and feeds.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

import mmh3

from mlradar._content.text import strip_accents

#: arxiv-sanity-lite's tokenizer: words of two or more characters starting with a letter.
#: Its classes are ASCII, so every token (and n-gram) is ASCII.
TOKEN_PATTERN = r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b"  # noqa: S105 - a regex, not a secret

#: scikit-learn's ``ENGLISH_STOP_WORDS`` (the Glasgow Information Retrieval Group's list,
#: BSD-3-Clause), word for word: the features were hashed without these.
STOP_WORDS = frozenset(
    """
    a about above across after afterwards again against all almost alone along already
    also although always am among amongst amoungst amount an and another any anyhow
    anyone anything anyway anywhere are around as at back be became because become
    becomes becoming been before beforehand behind being below beside besides between
    beyond bill both bottom but by call can cannot cant co con could couldnt cry de
    describe detail do done down due during each eg eight either eleven else elsewhere
    empty enough etc even ever every everyone everything everywhere except few fifteen
    fifty fill find fire first five for former formerly forty found four from front full
    further get give go had has hasnt have he hence her here hereafter hereby herein
    hereupon hers herself him himself his how however hundred i ie if in inc indeed
    interest into is it its itself keep last latter latterly least less ltd made many
    may me meanwhile might mill mine more moreover most mostly move much must my myself
    name namely neither never nevertheless next nine no nobody none noone nor not
    nothing now nowhere of off often on once one only onto or other others otherwise our
    ours ourselves out over own part per perhaps please put rather re same see seem
    seemed seeming seems serious several she should show side since sincere six sixty so
    some somehow someone something sometime sometimes somewhere still such system take
    ten than that the their them themselves then thence there thereafter thereby
    therefore therein thereupon these they thick thin third this those though three
    through throughout thru thus to together too top toward towards twelve twenty two un
    under until up upon us very via was we well were what whatever when whence whenever
    where whereafter whereas whereby wherein whereupon wherever whether which while
    whither who whoever whole whom whose why will with within without would yet you your
    yours yourself yourselves
    """.split()  # noqa: SIM905 - a word list reads better as text
)
_TOKEN = re.compile(TOKEN_PATTERN)


def analyze(text: str, ngram_max: int = 2) -> list[str]:
    """The terms the feature hasher sees in ``text``: unigrams, then bigrams (and longer
    n-grams up to ``ngram_max``), in order, as scikit-learn's word analyzer gives them."""
    tokens = [t for t in _TOKEN.findall(strip_accents(text.lower())) if t not in STOP_WORDS]
    if ngram_max < 2:
        return tokens
    terms = tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]
    for n in range(3, ngram_max + 1):
        terms += [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return terms


def term_column(term: str, n_features: int) -> int:
    """The column a term is hashed to, as scikit-learn's ``FeatureHasher`` computes it
    (one term; :func:`mlradar._rank.features.hash_columns` hashes many at once)."""
    # Python's abs() does not overflow on -2**31: its column is the one scikit-learn
    # states for its int32, (2**31 - 1 - (n_features - 1)) % n_features.
    return abs(mmh3.hash(term.encode("utf-8"), 0, signed=True)) % n_features


def name_columns(text: str, columns: Iterable[int], n_features: int) -> dict[int, str]:
    """The first term of ``text`` hashed to each of ``columns`` (columns no term of the text
    hashes to are left out)."""
    wanted = set(columns)
    out: dict[int, str] = {}
    for term in dict.fromkeys(analyze(text)):
        col = term_column(term, n_features)
        if col in wanted and col not in out:
            out[col] = term
            if len(out) == len(wanted):
                break
    return out


__all__ = ["STOP_WORDS", "TOKEN_PATTERN", "analyze", "name_columns", "term_column"]
