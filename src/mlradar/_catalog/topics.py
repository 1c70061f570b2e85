"""Topics: the headings of a reading list, folded into a small shared vocabulary.

Topics are slugs (``deep-learning``), primary topic first.  The built-in catalog writes
them directly; an imported list gets them from its headings ("## Large Language Models"
-> ``llm``), minus the headings that organise a page rather than name a subject ("Links",
"Contents").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

# Heading slugs that say the same thing as a topic of the shared vocabulary.
SYNONYMS: dict[str, str] = {
    "ml": "machine-learning",
    "machine-learning-ml": "machine-learning",
    "dl": "deep-learning",
    "deep-neural-networks": "deep-learning",
    "llms": "llm",
    "large-language-models": "llm",
    "large-language-models-llms": "llm",
    "language-models": "llm",
    "ai-safety": "safety",
    "alignment": "safety",
    "ai-alignment": "safety",
    "mechanistic-interpretability": "interpretability",
    "mechinterp": "interpretability",
    "explainability": "interpretability",
    "probability-and-statistics": "probability",
    "probability-statistics": "probability",
    "statistics-and-probability": "probability",
    "mathematics": "math",
    "maths": "math",
    "theoretical": "theory",
    "natural-language-processing": "nlp",
    "natural-language-processing-rnns": "nlp",
    "reinforcement-learning-robotics": "reinforcement-learning",
    "rl": "reinforcement-learning",
    "ml-engineering": "mlops",
    "mlops-platforms": "mlops",
    "machine-learning-in-production": "mlops",
    "research-papers": "research",
    "advanced-research": "research",
    "online-forums": "forums",
    "blogs-websites": "blogs",
}

# Headings that structure a page without naming a subject.
STOPWORDS: frozenset[str] = frozenset(
    {
        "links",
        "contents",
        "table-of-contents",
        "toc",
        "notes",
        "honorable-mentions",
        "some-usual-suspects",
        "more-blogs",
        "background",
        "contributing",
        "license",
        "acknowledgements",
        "acknowledgments",
        "acknowledgement",
        "further-resources",
        "star-history",
        "important-note-on-prs",
        "other",
        "others",
        "misc",
        "extra",
        "general",
        "resources",
        "introduction",
        "tl-dr",
        "tldr",
        "justification-for-the-post",
        "awesome-list-criteria",
        "my-favorite-ones",
        "curated-lists",
    }
)

_NUMBERING = re.compile(r"^\s*(\d+[.)]|[ivx]+\.)\s+", re.I)
_NON_WORD = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    """Lowercase ASCII words joined by hyphens: ``"Lil'Log"`` -> ``"lil-log"``."""
    text = text.lower().replace("&", " and ").replace("'", "").replace("’", "")
    return _NON_WORD.sub("-", text).strip("-")


def topic(text: str) -> str | None:
    """The topic a heading (or a typed ``--topic``) names, or None for a structural heading."""
    text = _NUMBERING.sub("", text)
    slug = slugify(text)
    if slug in STOPWORDS:
        return None
    if slug.startswith("awesome-"):
        slug = slug.removeprefix("awesome-")
    slug = SYNONYMS.get(slug, slug)
    if not slug or slug in STOPWORDS or slug == "awesome":
        return None
    return slug


def topics_from(headings: Sequence[str]) -> tuple[str, ...]:
    """The distinct topics of a heading path, the nearest heading first.

    Topics are kept primary-first everywhere: the nearest heading ("Linear Algebra") says
    more about a link than the outermost one ("Math").
    """
    seen: dict[str, None] = {}
    for heading in reversed(headings):
        t = topic(heading)
        if t is not None:
            seen.setdefault(t, None)
    return tuple(seen)


def merge_topics(*groups: Iterable[str]) -> tuple[str, ...]:
    """The union of topic lists, in first-seen order."""
    seen: dict[str, None] = {}
    for group in groups:
        for t in group:
            seen.setdefault(t, None)
    return tuple(seen)
