"""Content of entries: HTML sanitized for display and flattened to text for search."""

from __future__ import annotations

from mlradar._content.html import html_to_text, sanitize_html

__all__ = ["html_to_text", "sanitize_html"]
