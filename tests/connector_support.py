"""Helpers for connector tests: a core whose connectors talk to a loopback server."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from mlradar import RadarCore
from mlradar._config import Settings
from mlradar._connectors import Connector, Registry
from mlradar._connectors.feed import FeedConnector


@contextmanager
def core_with(db_url: str, *connectors: Connector) -> Iterator[RadarCore]:
    """A core with ``connectors`` mounted (then the feed fallback), loopback allowed."""
    registry = Registry()
    for connector in connectors:
        registry.mount(connector)
    registry.mount(FeedConnector(), fallback=True)
    with RadarCore.open(db_url, registry=registry, allow_private_networks=True) as core:
        yield core


def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, allow_private_networks=True)


def item_refs(db_url: str, item_id: int) -> list[tuple[str, str]]:
    """What storage recorded the item names: ``(kind, ref)``, kinds arxiv/doi/link/..."""
    path = db_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT kind, ref FROM item_refs WHERE item_id = ? ORDER BY rowid", (item_id,)
        ).fetchall()
    return [(str(k), str(r)) for k, r in rows]


def vcr_body(path: Path) -> str:
    """The body of the first recorded response of a VCR cassette (either of its layouts)."""
    doc: Any = yaml.safe_load(path.read_text("utf-8"))
    response = doc["interactions"][0]["response"]
    body = response.get("body", {}).get("string") if "body" in response else None
    return str(body if body is not None else response["content"])
