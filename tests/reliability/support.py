"""Helpers of the reliability suite: a connector whose parse job misbehaves on request,
and a radar with it mounted beside the feed connector."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlradar._config import Settings
from mlradar._connectors import FetchResult, Registry, SourceRef, SourceSpec
from mlradar._connectors.base import FetchContext, ResolveContext
from mlradar._connectors.feed import FeedConnector
from mlradar._fetch import HostPolicy
from mlradar._model import ParsedFeed
from mlradar._radar import Radar, RadarCore
from mlradar._sources.feed import parse_feed

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>{title}</title><link>http://example.org/</link>
{items}</channel></rss>"""
ITEM = """<item><title>{title}</title><link>http://example.org/{n}</link><guid>g-{n}</guid>
<description>{body}</description></item>"""


def rss(title: str, n: int = 2, body: str = "text") -> bytes:
    items = "".join(
        ITEM.format(title=f"{title} {i}", n=f"{title}-{i}", body=body) for i in range(n)
    )
    return RSS.format(title=title, items=items).encode()


def job(mode: str, marker: str, url: str) -> ParsedFeed:
    """The parse job of :class:`JobConnector`; runs in a parse worker.

    ``die`` kills its own worker every time (a feed that crashes the parser natively);
    ``die-once`` only the first time (a worker the OOM killer picked while it parsed).
    """
    if mode == "die" or (mode == "die-once" and not Path(marker).exists()):
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "raise":
        raise KeyError("a bug in the connector")
    return parse_feed(rss(mode), url)


class JobConnector:
    """``job:<mode>`` sources: no network, the parse job is :func:`job`."""

    kind = "job"
    label = "job"

    def __init__(self, markers: Path) -> None:
        self.markers = markers

    def parse_spec(self, text: str) -> SourceSpec | None:
        return SourceSpec(self.kind, text) if text.startswith("job:") else None

    async def resolve(self, spec: SourceSpec, ctx: ResolveContext) -> SourceSpec:
        return spec

    def policies(self, settings: Settings) -> Mapping[str, HostPolicy]:
        return {}

    async def fetch(self, source: SourceRef, ctx: FetchContext) -> FetchResult:
        mode = source.url.split(":", 1)[1].split("#", 1)[0]
        marker = str(self.markers / f"{source.id}.marker")
        if mode == "raise-here":
            raise ZeroDivisionError("division by zero in the connector itself")
        feed = await ctx.run_cpu(job, mode, marker, source.url)
        return FetchResult(feed.entries, title=feed.title)


@contextmanager
def job_radar(db_url: str, markers: Path, **settings: Any) -> Iterator[Radar]:
    registry = Registry()
    registry.mount(JobConnector(markers))
    registry.mount(FeedConnector(), fallback=True)
    settings.setdefault("allow_private_networks", True)
    settings.setdefault("parse_workers", 2)
    core = RadarCore.open(db_url, registry=registry, **settings)
    try:
        core.ensure_user(core.settings.user)
        yield core.for_user()
    finally:
        core.close()
