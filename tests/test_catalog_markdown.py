"""Importing Markdown reading lists: the seed lists and real awesome-lists."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from mlradar._catalog.kinds import detect_kind
from mlradar._catalog.markdown import (
    MAX_MARKDOWN_BYTES,
    decode_markdown,
    parse_markdown_list,
    raw_markdown_url,
)
from mlradar._catalog.model import ListedResource
from mlradar._radar import make_radar
from mlradar.exceptions import InvalidInputError


def read_list(shared_data: Path, name: str) -> list[ListedResource]:
    text = (shared_data / "lists" / name).read_text(encoding="utf-8")
    return list(parse_markdown_list(text).resources)


def seed(shared_data: Path, prefix: str) -> list[ListedResource]:
    path = next((shared_data.parent / "seeds").glob(f"{prefix}_*.txt"))
    return list(parse_markdown_list(path.read_text(encoding="utf-8")).resources)


def by_url(resources: list[ListedResource], url: str) -> ListedResource:
    return next(r for r in resources if r.url == url)


@pytest.mark.parametrize(
    ("url", "name", "context", "kind"),
    [
        ("https://arxiv.org/abs/1910.07454", "", (), "paper"),
        ("http://arxiv.org/pdf/1503.02531", "[pdf]", (), "paper"),
        ("https://arxiv.org/", "Arxiv", (), "tool"),
        ("https://github.com/kubeflow/kubeflow", "KubeFlow", (), "tool"),
        ("https://github.com/sshkhr/awesome-mlss", "summer schools", (), "list"),
        ("https://github.com/dcai-course/dcai-lab", "Data-Centric AI course", (), "course"),
        ("https://www.youtube.com/watch?v=HZGCoVF3YvM", "", (), "video"),
        ("https://www.youtube.com/watch?v=fNk_zzaMoSs&list=PLZH", "", (), "playlist"),
        ("https://www.youtube.com/playlist?list=PLBE9407EA64E2C318", "", (), "playlist"),
        ("https://www.coursera.org/learn/machine-learning", "", (), "course"),
        ("https://importai.substack.com/", "", (), "newsletter"),
        ("https://www.reddit.com/r/MachineLearning/", "", (), "forum"),
        ("https://news.ycombinator.com/item?id=15689399", "", (), "forum"),
        ("https://twitter.com/fhuszar", "", (), "person"),
        ("https://www.cs.princeton.edu/~arora/", "Sanjeev Arora", (), "person"),
        ("https://www.deeplearningbook.org/", "", (), "book"),
        ("https://www.cs.cornell.edu/jeh/book.pdf", "Foundations", (), "book"),
        ("https://lineardigressions.com", "Linear Digressions", ("Podcasts",), "podcast"),
        ("https://datatau.com/news", "Hacker News for DS", ("Blogs/Podcasts",), "blog"),
        ("http://www.offconvex.org/", "Off The Convex Path", (), "blog"),
        ("https://karpathy.github.io/2019/04/25/recipe/", "A Recipe", (), "article"),
        ("https://deeplearningindaba.com/2024/", "Indaba", ("2024 Summer Schools",), "event"),
    ],
)
def test_kind_detection(url: str, name: str, context: tuple[str, ...], kind: str) -> None:
    assert detect_kind(url, name=name, context=context) == kind


def test_research_blog_list(shared_data: Path) -> None:
    found = seed(shared_data, "000")
    assert len(found) == 31
    lil = by_url(found, "https://lilianweng.github.io/lil-log/")
    assert (lil.name, lil.kind) == ("Lil'Log", "blog")
    assert lil.description is not None
    assert lil.description.startswith("Lillian Weng blogs")
    flows = found[2]
    assert flows.kind == "article"
    assert flows.heading_path == ("Lil'Log",)
    # Links named by a generic word are named from their context.
    names = {r.name for r in found}
    assert {"Chris Olah's blog", "Karpathy's blogs (old)", "Karpathy's blogs (new)"} <= names
    # "[Distill](www.distill.pub)" has no scheme; the tweet in the embedded HTML is not a link.
    assert any(r.url == "http://www.distill.pub/" for r in found)
    hosts = {urlsplit(r.url).hostname for r in found}
    assert not hosts & {"twitter.com", "t.co"}


def test_study_guide_headings_become_topics(shared_data: Path) -> None:
    found = seed(shared_data, "003")
    assert len(found) == 45
    first = found[0]
    assert first.name == '"Essence of linear algebra" 3Blue1Brown playlist'
    assert first.kind == "playlist"
    assert first.topics == ("linear-algebra", "math")
    assert first.heading_path == ("Math", "Linear Algebra")
    hero = next(r for r in found if "Zero to Hero" in r.name)
    assert hero.topics == ("llm", "machine-learning")
    parts = [r.name for r in found if r.name.endswith(("Part 1", "Part 5"))]
    assert parts == [
        '"Deep Learning" Coursera specialization by Andrew Ng – Part 1',
        '"Deep Learning" Coursera specialization by Andrew Ng – Part 5',
    ]
    miles = by_url(found, "https://www.youtube.com/@RobertMilesAI")
    assert miles.topics == ("safety", "machine-learning")


def test_news_list_drops_citations(shared_data: Path) -> None:
    found = seed(shared_data, "001")
    assert len(found) == 24
    urls = {r.url for r in found}
    # Tweets and a Reddit comment cited as evidence are not resources.
    assert not any("/status/" in u for u in urls)
    assert not any(u.endswith("/de72nnr/") for u in urls)
    assert by_url(found, "https://jack-clark.net/import-ai/").kind == "newsletter"
    assert by_url(found, "https://www.reddit.com/r/learnmachinelearning/").kind == "forum"


def test_most_cited_papers_list(shared_data: Path) -> None:
    found = read_list(shared_data, "awesome-deep-learning-papers/README.md")
    assert len(found) == 245
    assert sum(1 for r in found if r.kind == "paper") >= 200
    distill = by_url(found, "http://arxiv.org/pdf/1503.02531")
    # The link says "[pdf]": the bold title names it, the rest describes it.
    assert distill.name == "Distilling the knowledge in a neural network"
    assert distill.description == "(2015), G. Hinton et al"
    assert distill.topics[0] == "understanding-generalization-transfer"
    assert not any("cdn.rawgit.com" in r.url or r.url.startswith("#") for r in found)


def test_summer_school_tables(shared_data: Path) -> None:
    found = read_list(shared_data, "awesome-mlss/OLD_README.md")
    assert len(found) == 169
    indaba = by_url(found, "https://deeplearningindaba.com/2024/")
    assert indaba.kind == "event"
    assert indaba.description is not None
    assert "Location: Dakar, Senegal" in indaba.description
    # Organisers linked in other cells of a row are not entries.
    assert not any(r.url == "https://www.athena-innovation.gr/" for r in found)


def test_awesome_machine_learning(shared_data: Path) -> None:
    found = read_list(shared_data, "awesome-machine-learning/README.md")
    assert len(found) == 1237
    tf = by_url(found, "https://github.com/tensorflow/tensorflow")
    assert tf.kind == "tool"
    assert "python" in tf.topics
    assert (
        tf.description
        == "Open source software library for numerical computation using data flow graphs"
    )
    courses = read_list(shared_data, "awesome-machine-learning/courses.md")
    assert by_url(courses, "https://www.coursera.org/learn/machine-learning").kind == "course"
    blogs = read_list(shared_data, "awesome-machine-learning/blogs.md")
    assert by_url(blogs, "https://lineardigressions.com/").kind == "podcast"
    assert by_url(blogs, "https://buzzrobot.substack.com/").kind == "newsletter"


def test_applied_ml_reference_links_are_not_entries(shared_data: Path) -> None:
    found = read_list(shared_data, "applied-ml/README.md")
    assert len(found) == 542
    data = by_url(found, "https://research.google/pubs/pub46178/")
    assert data.name == "Data Management Challenges in Production Machine Learning"
    assert data.topics[0] == "data-quality"
    assert data.description == "Google 2017"
    # "([Paper](...))" beside it points at the same work: not an entry of its own.
    assert not any("p1723-polyzotis.pdf" in r.url for r in found)


def test_blog_list_feeds_are_attached(shared_data: Path) -> None:
    found = read_list(shared_data, "data-science-blogs/README.md")
    assert len(found) == 257
    karpathy = by_url(found, "http://karpathy.github.io/")
    assert karpathy.name == "Andrej Karpathy blog"
    assert karpathy.feed_url == "http://karpathy.github.io/feed.xml"
    assert karpathy.kind == "blog"
    assert sum(1 for r in found if r.feed_url) == 252  # every "[(RSS)](...)" link
    assert not any(r.name == "(RSS)" for r in found)


def test_same_entry_from_two_lists_has_both_origins(db_url: str, shared_data: Path) -> None:
    blogs = shared_data / "lists/awesome-machine-learning/blogs.md"
    ds = shared_data / "lists/data-science-blogs/README.md"
    with make_radar(db_url) as radar:
        first = radar.import_markdown(str(blogs))
        second = radar.import_markdown(str(ds))
        # colah, Distill, Karpathy (blog and Medium) and the Spectator are built in.
        assert (first.found, first.added, first.merged) == (69, 64, 5)
        # A bare URL on its own line is named by its address.
        domino = next(e for e in radar.catalog() if e.url == "https://blog.dominodatalab.com/")
        assert (domino.name, domino.slug) == ("blog.dominodatalab.com", "blog-dominodatalab-com")
        assert second.found == 257
        assert second.merged >= 19
        kaggle = next(e for e in radar.catalog() if e.url == "http://blog.kaggle.com/")
        assert [o.origin for o in kaggle.origins] == sorted([str(blogs), str(ds)])
        assert kaggle.feed_url is not None
        # Importing the same list again adds nothing.
        again = radar.import_markdown(str(ds))
        assert (again.added, again.merged) == (0, 257)


def test_bad_input(tmp_path: Path, db_url: str) -> None:
    assert parse_markdown_list("").resources == ()
    assert parse_markdown_list("# just a title\n\nno links here").resources == ()
    with pytest.raises(InvalidInputError, match="too large"):
        decode_markdown(b"x" * (MAX_MARKDOWN_BYTES + 1), "big.md")
    with pytest.raises(InvalidInputError, match="not a text file"):
        decode_markdown(b"\x00\x01\x02PNG", "image.md")
    with make_radar(db_url) as radar:
        with pytest.raises(InvalidInputError, match="cannot read"):
            radar.import_markdown(str(tmp_path / "missing.md"))
        weird = tmp_path / "weird.md"
        weird.write_bytes(
            b"* [x](javascript:alert(1)) [y](mailto:a@b) [z](#anchor) [w]()\n\xff\xfe"
        )
        assert radar.import_markdown(str(weird)).found == 0


def test_github_pages_map_to_raw_markdown() -> None:
    assert raw_markdown_url("https://github.com/terryum/awesome-deep-learning-papers") == (
        "https://raw.githubusercontent.com/terryum/awesome-deep-learning-papers/HEAD/README.md"
    )
    assert raw_markdown_url(
        "https://github.com/josephmisiti/awesome-machine-learning/blob/master/books.md"
    ) == ("https://raw.githubusercontent.com/josephmisiti/awesome-machine-learning/master/books.md")
    assert raw_markdown_url("https://example.org/list.md") == "https://example.org/list.md"


def test_import_from_a_url(db_url: str) -> None:
    from pytest_httpserver import HTTPServer

    from mlradar.exceptions import ParseError

    with HTTPServer() as server:
        server.expect_request("/list.md").respond_with_data(
            "# Reading\n## Blogs\n* [Example blog](https://blog.example/) - a blog\n",
            content_type="text/markdown",
        )
        server.expect_request("/page.html").respond_with_data(
            "<html><body><a href='https://x.example/'>x</a></body></html>",
            content_type="text/html",
        )
        with make_radar(db_url, allow_private_networks=True) as radar:
            url = server.url_for("/list.md")
            result = radar.import_markdown(url)
            assert (result.origin, result.found, result.added) == (url, 1, 1)
            blog = radar.catalog_entry("example-blog")
            assert (blog.kind, blog.topics, blog.description) == (
                "blog",
                ("blogs", "reading"),
                "a blog",
            )
            with pytest.raises(ParseError, match="HTML page, not Markdown"):
                radar.import_markdown(server.url_for("/page.html"))
