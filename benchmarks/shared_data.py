"""Where the real data of ``../shared/data`` is, for the benchmarks run as scripts."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The shared data sits beside the checkout; a git worktree is one level deeper.
DATA = next(
    (p / "shared" / "data" for p in ROOT.parents if (p / "shared" / "data").is_dir()),
    ROOT.parent / "shared" / "data",
)
