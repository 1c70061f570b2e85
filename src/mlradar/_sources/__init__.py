"""Reading sources: parsing fetched feeds, and telling feeds from web pages."""

from __future__ import annotations

from mlradar._sources.discovery import discover_feeds, looks_like_feed, sniff
from mlradar._sources.feed import parse_date, parse_feed

__all__ = ["discover_feeds", "looks_like_feed", "parse_date", "parse_feed", "sniff"]
