"""What kind of resource a link is, from its URL first and its context second.

The URL decides when it is unambiguous: a paper host, a GitHub repository, a YouTube video
or playlist, a course platform, a subreddit.  Otherwise the words around the link decide
(its name and the headings above it: "Podcasts", "Newsletters", "Books", "Summer Schools"),
and last the shape of the URL: a site's root is a blog, a deeper page an article.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import get_args
from urllib.parse import parse_qs, urlsplit

from mlradar.types import CatalogKind

KINDS: tuple[CatalogKind, ...] = get_args(CatalogKind)

_PAPER_HOSTS = (
    "arxiv.org",
    "openreview.net",
    "proceedings.neurips.cc",
    "papers.nips.cc",
    "papers.neurips.cc",
    "proceedings.mlr.press",
    "jmlr.org",
    "aclanthology.org",
    "aclweb.org",
    "dl.acm.org",
    "ieeexplore.ieee.org",
    "openaccess.thecvf.com",
    "cv-foundation.org",
    "pdfs.semanticscholar.org",
    "biorxiv.org",
    "medrxiv.org",
    "ssrn.com",
    "doi.org",
    "aaai.org",
    "ijcai.org",
    "nature.com",
    "science.org",
    # Its home page is a tool (the rule below); /paper/... pages are papers.
    "paperswithcode.com",
)
_COURSE_HOSTS = (
    "coursera.org",
    "edx.org",
    "udacity.com",
    "udemy.com",
    "codecademy.com",
    "course.fast.ai",
    "course18.fast.ai",
    "ocw.mit.edu",
    "teachable.com",
    "khanacademy.org",
    "datacamp.com",
    "kaggle.com/learn",
    "deeplearning.ai/short-courses",
    "deeplearning.ai/courses",
    "introtodeeplearning.com",
    "fullstackdeeplearning.com",
    "mlu-explain.github.io",
)
_BOOK_HOSTS = (
    "oreilly.com",
    "manning.com",
    "nostarch.com",
    "leanpub.com",
    "pragprog.com",
    "packtpub.com",
    "statlearning.com",
    "deeplearningbook.org",
    "neuralnetworksanddeeplearning.com",
    "automatetheboringstuff.com",
    "themlbook.com",
    "d2l.ai",
    "greenteapress.com",
    "otexts.com",
    "mml-book.github.io",
)
_NEWSLETTER_HOSTS = (
    "substack.com",
    "getrevue.co",
    "buttondown.email",
    "tinyletter.com",
    "campaign-archive.com",
    "mailchi.mp",
    "beehiiv.com",
    "read.deeplearning.ai/the-batch",
)
_PODCAST_HOSTS = ("anchor.fm", "podcasts.apple.com", "open.spotify.com/show", "podbean.com")
_FORUM_HOSTS = (
    "news.ycombinator.com",
    "reddit.com",
    "stackexchange.com",
    "stackoverflow.com",
    "groups.google.com",
    "discord.gg",
    "discuss.pytorch.org",
    "forums.fast.ai",
    "lesswrong.com",
    "alignmentforum.org",
)
_PERSON_HOSTS = ("twitter.com", "x.com", "scholar.google.com", "linkedin.com/in")
_EVENT_HOSTS = ("meetup.com", "icml.cc", "neurips.cc", "nips.cc", "iclr.cc", "eventbrite.com")

# Words in a link's name or the headings above it, most specific first.
_CONTEXT_WORDS: tuple[tuple[re.Pattern[str], CatalogKind], ...] = (
    (re.compile(r"\bpodcasts?\b", re.I), "podcast"),
    (re.compile(r"\bnewsletters?\b", re.I), "newsletter"),
    (
        re.compile(r"\b(summer|winter) schools?\b|\bconferences?\b|\bmeetups?\b|\bevents?\b", re.I),
        "event",
    ),
    (re.compile(r"\bplaylists?\b", re.I), "playlist"),
    (
        re.compile(r"\b(courses?|moocs?|lectures?|class|specialization|curriculum)\b", re.I),
        "course",
    ),
    (re.compile(r"\b(books?|textbooks?|cookbook)\b", re.I), "book"),
    (re.compile(r"\b(papers?|preprints?)\b", re.I), "paper"),
    (re.compile(r"\b(forums?|subreddit|communit(y|ies))\b", re.I), "forum"),
    (re.compile(r"\b(awesome|curated lists?|reading lists?|roadmap)\b", re.I), "list"),
    (re.compile(r"\b(librar(y|ies)|frameworks?|toolkits?|software|tools?)\b", re.I), "tool"),
    (re.compile(r"\bblogs?\b", re.I), "blog"),
)
_DATED_PATH = re.compile(r"/(19|20)\d\d/\d\d?(/|$)")
# A heading that is a programming language heads a section of software (awesome-lists
# group libraries by language: "Python > Computer Vision").
_LANGUAGE_HEADING = re.compile(
    r"(python|julia|c|c\+\+|c#|\.net|java|javascript|typescript|node\.?js|r|matlab|octave|"
    r"lua|scala|go|golang|rust|ruby|perl|php|swift|kotlin|crystal|clojure|elixir|erlang|"
    r"haskell|ocaml|f#|fortran|cuda|sas|objective[ -]c|elm|prolog|common lisp|lisp|"
    r"scheme|racket|dart|nim|zig|d|apl|stata|spss|excel)",
    re.I,
)
#: A list file named for one kind of thing (``books.md``, ``courses.md``) says what its
#: links are when neither their URL nor their words tell.
_LIST_FILE_KINDS: dict[str, CatalogKind] = {
    "books": "book",
    "courses": "course",
    "blogs": "blog",
    "podcasts": "podcast",
    "papers": "paper",
    "events": "event",
    "meetups": "event",
    "conferences": "event",
    "newsletters": "newsletter",
    "videos": "video",
    "tools": "tool",
}


def list_file_kind(filename: str) -> CatalogKind | None:
    """The kind a list's file name gives its links: ``books.md`` -> book; else None."""
    stem = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0].strip().lower()
    return _LIST_FILE_KINDS.get(stem)


def _host_path(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.").removeprefix("m.")
    return host, parts.path


def _on(host: str, path: str, patterns: Sequence[str]) -> bool:
    """Whether host+path falls under one of the ``domain`` or ``domain/path-prefix`` patterns."""
    for pattern in patterns:
        domain, slash, prefix = pattern.partition("/")
        if (host == domain or host.endswith("." + domain)) and (
            not slash or path.lstrip("/").startswith(prefix)
        ):
            return True
    return False


def _youtube_kind(host: str, path: str, query: str) -> CatalogKind | None:
    if host == "youtu.be":
        return "video"
    if host not in ("youtube.com", "youtube-nocookie.com"):
        return None
    if "list" in parse_qs(query) and (path.startswith("/playlist") or path.startswith("/watch")):
        return "playlist"
    # A watch page, a channel (/channel/, /@name, /c/, /user/): a channel is a video source.
    return "video"


def _github_kind(path: str, name: str) -> CatalogKind:
    segments = [s for s in path.split("/") if s]
    if len(segments) == 1:
        return "person"
    repo = segments[1].lower() if len(segments) > 1 else ""
    if repo.startswith("awesome") or re.search(r"\b(awesome|curated list|roadmap)\b", name, re.I):
        return "list"
    # A repository is code unless its name says it holds a course or a book.
    if re.search(r"\b(courses?|lectures?|class|tutorials?)\b", name, re.I):
        return "course"
    if re.search(r"\bbook\b", name, re.I):
        return "book"
    return "tool"


def url_kind(url: str) -> CatalogKind | None:
    """The kind the URL alone makes certain, or None when it takes context to tell."""
    parts = urlsplit(url)
    host, path = _host_path(url)
    youtube = _youtube_kind(host, path, parts.query)
    if youtube:
        return youtube
    if host in ("vimeo.com", "videolectures.net"):
        return "video"
    if _on(host, path, _PAPER_HOSTS):
        # A paper host's home page is a tool for finding papers, not a paper.
        return "paper" if path.strip("/") else "tool"
    if _on(host, path, _COURSE_HOSTS):
        return "course"
    if _on(host, path, _NEWSLETTER_HOSTS):
        return "newsletter"
    if _on(host, path, _PODCAST_HOSTS):
        return "podcast"
    if _on(host, path, _FORUM_HOSTS):
        return "forum"
    if _on(host, path, _EVENT_HOSTS):
        return "event"
    if _on(host, path, _PERSON_HOSTS) or re.match(r"^/(~[^/]+|people/[^/]+)/?$", path):
        return "person"
    if host == "facebook.com":  # a page of someone (ai.facebook.com/blog is not)
        return "person"
    if _on(host, path, _BOOK_HOSTS):
        return "book"
    return None


def _context_kind(text: str, *, is_name: bool) -> CatalogKind | None:
    """The kind a name or heading speaks of: the word that comes first wins
    ("Blogs/Podcasts" is about blogs).  Only a link's own name can make it a list: an
    awesome-list's title says nothing about the links inside it."""
    best: tuple[int, CatalogKind] | None = None
    for pattern, kind in _CONTEXT_WORDS:
        if kind == "list" and not is_name:
            continue
        m = pattern.search(text)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), kind)
    return None if best is None else best[1]


def detect_kind(
    url: str,
    *,
    name: str = "",
    context: Sequence[str] = (),
    has_feed: bool = False,
    default: CatalogKind | None = None,
) -> CatalogKind:
    """The kind of the resource at ``url``.

    ``name`` is the link's text and ``context`` the headings above it (outermost first);
    they decide only where the URL does not.  ``has_feed`` says the list gives the
    resource a feed (then it is a blog unless the words say otherwise); ``default`` is the
    kind to assume when neither the URL nor the words tell.
    """
    host, path = _host_path(url)
    lower_path = path.lower()
    words = " ".join([name, *reversed(context)])
    if host == "github.com" or host == "gitlab.com":
        return _github_kind(path, name)
    certain = url_kind(url)
    if certain is not None:
        return certain
    if lower_path.endswith(".pdf") and default is None:
        # A PDF is a paper unless its name or section says it is a book.
        return "book" if re.search(r"book|notes", words + lower_path, re.I) else "paper"
    if re.fullmatch(r"@\w[\w.-]*", name.strip()):
        return "person"  # a link named by a handle is its owner's page
    # The name first, then the headings from the nearest outwards.
    for i, text in enumerate((name, *reversed(context))):
        if i > 0 and _LANGUAGE_HEADING.fullmatch(text.strip()):
            return "tool"
        kind = _context_kind(text, is_name=i == 0)
        if kind is not None:
            if kind == "blog" and is_deep_page(path) and not has_feed:
                return "article"
            return kind
    if has_feed:
        return "blog"
    if default is not None:
        return default
    if "podcast" in host or "/podcast" in lower_path:
        return "podcast"
    if "newsletter" in host or "newsletter" in lower_path:
        return "newsletter"
    # "facebook" is no book.
    if ("book" in host and "facebook" not in host) or re.search(r"/books?(/|$)", lower_path):
        return "book"
    if "course" in host or re.search(r"/(courses?|class(es)?)(/|$)", lower_path):
        return "course"
    return "article" if is_deep_page(path) else "blog"


# Path segments that name a section of a site (its blog, its posts), not one page.
_SECTIONS = frozenset(
    {"blog", "blogs", "posts", "post", "techblog", "writing", "articles", "news", "weblog",
     "journal", "archive", "archive.html", "about", "feed", "home", "en", "index"}
)  # fmt: skip


def is_deep_page(path: str) -> bool:
    """Whether the path names one page (a post) rather than a site or a section of it."""
    segments = [s for s in path.split("/") if s]
    if not segments:
        return False
    if _DATED_PATH.search(path):
        return True
    last = segments[-1].lower()
    if re.search(r"\.(html?|php|aspx?|md)$", last) and not last.startswith("index."):
        return True
    if len(segments) >= 2:
        return last not in _SECTIONS
    # One segment: "/posts/" or "/@karpathy" is a section, "/why-machine-learning-matters" a page.
    return last.count("-") >= 3
