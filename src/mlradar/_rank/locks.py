"""The rank directory's file lock: one index writer at a time on this machine."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlradar.exceptions import StorageError

LOCK_FILE = "sync.lock"


@contextmanager
def writer_lock(root: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``root/sync.lock`` while the block runs, waiting for
    another holder (a second ``mlradar index``, an update's sync) to finish.

    ``flock`` locks belong to the open file: they are released when the process exits,
    however it exits, so a crashed writer never leaves the index locked.
    """
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StorageError(f"cannot lock the ranking index {root}: {exc}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


@contextmanager
def try_file_lock(path: Path) -> Iterator[bool]:
    """Take an exclusive ``flock`` on ``path`` if nobody holds it, without waiting: yields
    True when held for the block, False when another process (or open file) holds it.
    Released like :func:`writer_lock`'s, however the holder exits."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StorageError(f"cannot open the lock file {path}: {exc}") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


__all__ = ["LOCK_FILE", "try_file_lock", "writer_lock"]
