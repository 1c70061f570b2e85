"""Scheduled work: due updates and due digests, by ``mlradar worker`` or inside ``serve``.

:mod:`.schedule` decides (pure, on an injected clock); :mod:`.runner` does the work
under the runners' lock, so that two runners never run at once against one database.
"""

from __future__ import annotations

from mlradar._worker.runner import (
    BackgroundWorker,
    TickResult,
    Worker,
    runner_lock,
    start_background,
)
from mlradar._worker.schedule import Plan, digest_slot, plan

__all__ = [
    "BackgroundWorker",
    "Plan",
    "TickResult",
    "Worker",
    "digest_slot",
    "plan",
    "runner_lock",
    "start_background",
]
