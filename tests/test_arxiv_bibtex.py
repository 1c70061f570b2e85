"""BibTeX export: valid, escaped, unique keys; checked by parsing it back with bibtexparser."""

from __future__ import annotations

import gzip
import itertools
import unicodedata
from datetime import date
from pathlib import Path

import bibtexparser
import orjson
from bibtexparser.middlewares import LatexDecodingMiddleware
from hypothesis import given, settings
from hypothesis import strategies as st

from mlradar._arxiv.bibtex import latex_escape, to_bibtex
from mlradar._arxiv.records import paper_from_snapshot
from mlradar.types import Paper


def parse(text: str) -> bibtexparser.Library:
    return bibtexparser.parse_string(text, append_middleware=[LatexDecodingMiddleware()])


def fields(entry: bibtexparser.model.Entry) -> dict[str, str]:
    return {f.key: f.value for f in entry.fields}


def paper(title: str = "A Title", **kw: object) -> Paper:
    base: dict[str, object] = {
        "arxiv_id": "2401.00001",
        "title": title,
        "authors": ("Ada Lovelace",),
        "categories": ("cs.LG", "stat.ML"),
        "abstract": "",
        "first_version_at": date(2024, 1, 2),
        "updated_at": None,
    }
    base.update(kw)
    return Paper(**base)  # type: ignore[arg-type]


def test_real_papers_round_trip(shared_data: Path) -> None:
    with gzip.open(shared_data / "arxiv" / "papers.jsonl.gz", "rb") as f:
        papers = [paper_from_snapshot(orjson.loads(line)) for line in itertools.islice(f, 3000)]
    library = parse(to_bibtex(papers))
    assert library.failed_blocks == []
    assert len(library.entries) == len(papers)
    keys = [e.key for e in library.entries]
    assert len(set(keys)) == len(keys)
    plain = 0
    for p, e in zip(papers, library.entries, strict=True):
        f = fields(e)
        assert e.entry_type == ("article" if p.journal_ref or p.doi else "misc")
        assert f["eprint"] == p.arxiv_id
        assert f["archivePrefix"] == "arXiv"
        assert f["primaryClass"] == p.categories[0]
        assert f["year"] == str(p.first_version_at.year) if p.first_version_at else True
        assert f["author"] == " and ".join(p.authors)
        # Text without TeX meaning must decode to itself (TeX's -- and `` are dashes, quotes).
        if not set(p.title) & set("\\${}~") and not any(t in p.title for t in ("--", "``", "''")):
            plain += 1
            assert f["title"].replace("\u02c6", "^") == p.title, p.arxiv_id
    assert plain > 2500


# Characters that carry TeX meaning in arXiv's metadata ($ math, \ macros, {} groups, ~ ties)
# are kept as TeX; every other character, special to TeX or not, must come back as it was.
_PLAIN = (
    st.text(
        alphabet=st.characters(
            categories=("L", "N", "P", "S", "Zs"),
            exclude_characters="\\${}~`'\"-",
        ),
        min_size=1,
        max_size=60,
    )
    .map(lambda s: " ".join(s.split()))
    .filter(bool)
)


@settings(max_examples=300, deadline=None)
@given(title=_PLAIN, author=_PLAIN)
def test_plain_text_round_trips(title: str, author: str) -> None:
    library = parse(to_bibtex([paper(title, authors=(author,))]))
    assert library.failed_blocks == []
    (entry,) = library.entries
    f = fields(entry)
    # pylatexenc renders \textasciicircum as U+02C6, the glyph LaTeX prints for it.
    decoded_title = " ".join(f["title"].replace("\u02c6", "^").split())
    # Text is written in NFC, which only merges canonically equivalent forms.
    assert decoded_title == unicodedata.normalize("NFC", title)
    assert f["author"].replace("\u02c6", "^") == unicodedata.normalize("NFC", author)


def test_tex_is_kept_and_specials_are_escaped() -> None:
    assert latex_escape("Error rates of 5% & 10% for $O(n^2)$ at #1") == (
        r"Error rates of 5\% \& 10\% for $O(n^2)$ at \#1"
    )
    assert latex_escape(r"The \emph{real} M{\"u}ller problem") == (
        r"The \emph{real} M{\"u}ller problem"
    )
    assert latex_escape("a_b ^ c") == r"a\_b \textasciicircum{} c"
    assert latex_escape("a lone $ sign") == r"a lone \$ sign"
    assert latex_escape("Zürich – naïve") == r"Z{\"u}rich {\textendash} na{\"\i}ve"
    # Unbalanced braces would swallow the rest of the file: they become characters.
    assert latex_escape("x } y {") == r"x \textbraceright{} y \textbraceleft{}"
    assert latex_escape("ends with a backslash \\") == r"ends with a backslash \textbackslash{}"


def test_entry_shapes_and_unique_keys() -> None:
    a = paper("Attention Is All You Need", authors=("Ashish Vaswani", "ATLAS Collaboration"))
    b = paper(
        "Attention in graphs",
        arxiv_id="2401.00002",
        authors=("Émile Vaswani",),
        doi="10.1000/x_{1}",
    )
    c = paper("The attention of it all", arxiv_id="2401.00003", authors=("A. Vaswani",))
    text = to_bibtex([a, b, c, a])
    library = parse(text)
    assert library.failed_blocks == []
    assert [e.key for e in library.entries] == [
        "vaswani2024attention",
        "vaswani2024attentiona",
        "vaswani2024attentionb",
    ]
    first, second, _ = library.entries
    assert first.entry_type == "misc"
    assert "title = {Attention Is All You Need}" in text
    assert "{ATLAS Collaboration}" in text  # a corporate author is not split into names
    assert second.entry_type == "article"
    assert "doi = {10.1000/x_%7B1%7D}" in text  # verbatim: no TeX escapes, braces encoded
    assert fields(second)["author"] == "Émile Vaswani"
    assert "title = {{BERT} and {ImageNet} for {3D}}" in to_bibtex(
        [paper("BERT and ImageNet for 3D")]
    )


def test_papers_without_authors_or_dates_still_get_keys() -> None:
    text = to_bibtex([paper("???", authors=(), first_version_at=None)])
    (entry,) = parse(text).entries
    assert entry.key == "arxiv240100001"
