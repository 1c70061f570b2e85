"""Learning paths: an ordered study plan drawn from the catalog.

The order is the one the study guides recommend: mathematics (linear algebra, probability
and statistics, calculus), then Python, then machine learning, deep learning, large
language models, safety and interpretability, and last the practice of research.

An entry belongs to the stage of its first topic that names one (topics are kept
primary-first), and only study material makes a step: courses, books, videos, playlists,
articles and papers (a video channel counts: the study guides send beginners to some).
Blogs, newsletters and forums are followed, not studied; tools, lists, people and events
are not steps either.  Entries known to be gone are left out.
Within a stage, steps go by level (beginner first), then in catalog order.

Step numbers are those of the whole path (every level, every stage), so that a number
shown by ``path --level beginner`` means the same step to ``done`` as it does anywhere.
A *plan* (:func:`plan`) is what a person can follow: a few open steps per stage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from mlradar._catalog.model import LEVELS
from mlradar._catalog.topics import topic
from mlradar.exceptions import InvalidInputError
from mlradar.types import CatalogEntry, CatalogKind, LearningPath, Level, PathStep


@dataclass(frozen=True, slots=True)
class Stage:
    key: str
    label: str
    topics: frozenset[str]
    goal_words: frozenset[str] = frozenset()


STAGES: tuple[Stage, ...] = (
    Stage("math", "Mathematics", frozenset({"math"}), frozenset({"maths", "mathematics"})),
    Stage("linear-algebra", "Linear algebra", frozenset({"linear-algebra"})),
    Stage(
        "probability",
        "Probability and statistics",
        frozenset({"probability", "statistics", "bayesian"}),
        frozenset({"stats", "statistics"}),
    ),
    Stage("calculus", "Calculus", frozenset({"calculus"})),
    Stage(
        "python",
        "Python and programming",
        frozenset({"python", "programming", "numpy", "pandas"}),
        frozenset({"programming", "coding"}),
    ),
    Stage(
        "machine-learning",
        "Machine learning",
        frozenset({"machine-learning", "mlops", "data-science"}),
        frozenset({"ml", "mlops", "data-science"}),
    ),
    Stage(
        "deep-learning",
        "Deep learning",
        frozenset(
            {"deep-learning", "computer-vision", "generative-models", "reinforcement-learning"}
        ),
        frozenset({"dl", "neural-networks"}),
    ),
    Stage(
        "llm",
        "Large language models",
        frozenset({"llm", "nlp"}),
        frozenset({"llms", "large-language-models", "language-models", "nlp", "transformers"}),
    ),
    Stage("safety", "AI safety", frozenset({"safety"}), frozenset({"ai-safety", "alignment"})),
    Stage(
        "interpretability",
        "Interpretability",
        frozenset({"interpretability"}),
        frozenset({"mechinterp", "mechanistic-interpretability"}),
    ),
    Stage(
        "research",
        "Research practice",
        frozenset({"research", "papers", "theory", "optimization"}),
        frozenset({"theory", "papers"}),
    ),
)
STUDY_KINDS: frozenset[CatalogKind] = frozenset(
    {"course", "book", "video", "playlist", "article", "paper"}
)
_STAGE_INDEX = {s.key: i for i, s in enumerate(STAGES)}
_LEVEL_INDEX = {level: i for i, level in enumerate(LEVELS)}


def stage_of(topics: Iterable[str]) -> Stage | None:
    """The study stage of an entry: that of its first topic that names one."""
    for t in topics:
        for stage in STAGES:
            if t in stage.topics:
                return stage
    return None


def goal_stage(goal: str) -> Stage:
    """The stage a goal names ("deep learning", "LLMs", "interpretability")."""
    wanted = topic(goal) or ""
    for stage in STAGES:
        if wanted == stage.key or wanted in stage.goal_words or wanted in stage.topics:
            return stage
    known = ", ".join(s.label.lower() for s in STAGES)
    raise InvalidInputError(f"unknown goal {goal!r}: choose one of {known}")


def build_path(
    entries: Sequence[CatalogEntry],
    *,
    user: str,
    level: Level | None = None,
    goal: str | None = None,
    done: Mapping[int, datetime] | None = None,
) -> LearningPath:
    """The ordered study plan for ``level`` (all levels if None) up to ``goal``'s stage.

    ``entries`` must be in catalog order; ``done`` maps entry ids to when the user marked
    them done.  A step already done stays in the path even if it was retired since.
    """
    done = done or {}
    last = _STAGE_INDEX[goal_stage(goal).key] if goal else len(STAGES) - 1
    ranked: list[tuple[int, int, int, CatalogEntry, Stage]] = []
    for order, entry in enumerate(entries):
        stage = stage_of(entry.topics)
        if stage is None or entry.kind not in STUDY_KINDS:
            continue
        if entry.status == "gone" and entry.id not in done:
            continue
        level_rank = _LEVEL_INDEX.get(entry.level, len(LEVELS)) if entry.level else len(LEVELS)
        ranked.append((_STAGE_INDEX[stage.key], level_rank, order, entry, stage))
    ranked.sort(key=lambda r: r[:3])
    # Numbered over the whole path, then filtered: a step keeps its number in every view.
    numbered = [
        (i + 1, entry, stage)
        for i, (stage_index, _, _, entry, stage) in enumerate(ranked)
        if (level is None or entry.level == level) and stage_index <= last
    ]
    steps = tuple(
        PathStep(
            position=position,
            stage=stage.key,
            slug=entry.slug,
            name=entry.name,
            kind=entry.kind,
            level=entry.level,
            url=entry.best_url,
            description=entry.description,
            done=entry.id in done,
            done_at=done.get(entry.id),
        )
        for position, entry, stage in numbered
    )
    return LearningPath(user=user, level=level, goal=goal, steps=steps)


#: Open steps per stage in a plan (``mlradar path``; ``--all`` shows every step).
PLAN_STEPS_PER_STAGE = 3


def plan(steps: Sequence[PathStep], per_stage: int = PLAN_STEPS_PER_STAGE) -> list[PathStep]:
    """The steps a person can follow now: in each stage, the first ``per_stage`` steps not
    done yet (the easiest first, as the path orders them).  Done steps are left out."""
    shown: list[PathStep] = []
    taken: dict[str, int] = {}
    for step in steps:
        if step.done or taken.get(step.stage, 0) >= per_stage:
            continue
        taken[step.stage] = taken.get(step.stage, 0) + 1
        shown.append(step)
    return shown


def stage_label(key: str) -> str:
    """A stage's name for people ("Linear algebra")."""
    return next((s.label for s in STAGES if s.key == key), key)


def step_by_number(path: LearningPath, number: int) -> PathStep:
    """The step numbered ``number`` (as ``mlradar path`` shows it)."""
    for step in path.steps:
        if step.position == number:
            return step
    raise InvalidInputError(
        f"no step {number} in the study plan (it has steps 1 to {len(path.steps)}; "
        "see `mlradar path --all`)"
    )
