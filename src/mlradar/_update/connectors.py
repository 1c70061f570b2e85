"""The registry of source kinds other than plain feeds."""

from __future__ import annotations

from mlradar._config import Settings
from mlradar._update.pipeline import Connector


def default_connectors(settings: Settings) -> dict[str, Connector]:
    from mlradar._arxiv.listing import ArxivConnector

    return {"arxiv": ArxivConnector(settings)}
