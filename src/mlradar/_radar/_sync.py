"""Sync outside, async inside: run a coroutine from synchronous code, anywhere.

``asyncio.run`` refuses to run inside a running event loop, which is where a web
server's request handlers live.  There the coroutine runs on a fresh loop in a worker
thread instead (the caller blocks, as a synchronous call does); async callers should
call the ``*_async`` methods directly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """The result of ``coro``, run to completion from synchronous code."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(1, thread_name_prefix="mlradar-sync") as pool:
        return pool.submit(asyncio.run, coro).result()
