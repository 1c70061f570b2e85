"""Rendering a digest to Markdown or HTML with the Jinja2 templates of this package.

Everything in a digest that came from a feed (titles, names, summaries, reasons naming
titles) is text: the HTML template escapes it (autoescape) and the Markdown one escapes
what Markdown would read as markup or raw HTML.  Links keep only http(s) URLs.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote, urlsplit

from mlradar.exceptions import InvalidInputError
from mlradar.types import Digest

if TYPE_CHECKING:
    import jinja2

DigestFormat = Literal["md", "html"]
FORMATS: tuple[DigestFormat, ...] = ("md", "html")
_TEMPLATES = Path(__file__).with_name("templates")
#: What Markdown (CommonMark) may read as markup inside a line of text.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#!~])")


def md_text(value: object) -> str:
    """Text safe inside a Markdown line: markup characters backslash-escaped, one line."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(value or "").split()))


def safe_url(value: object) -> str:
    """``value`` if it is an absolute http(s) URL, else "" (no ``javascript:``, no data:).
    Spaces and parentheses are percent-encoded so a Markdown link cannot be broken out of."""
    url = str(value or "").strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    return quote(url, safe=":/?#[]@!$&'*+,;=%~-._")


@cache
def _environment(autoescape: bool) -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        # Markdown is no HTML: its template escapes with the md filter instead.
        autoescape=autoescape,  # noqa: S701
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md_text
    env.filters["url"] = safe_url
    return env


def render_digest(digest: Digest, fmt: DigestFormat = "md", *, base_url: str | None = None) -> str:
    """``digest`` as Markdown (``md``) or a complete HTML page (``html``); ``base_url``
    (the web app's address) adds a link to the digest's page when the digest is stored."""
    if fmt not in FORMATS:
        raise InvalidInputError(f"unknown digest format {fmt!r}: use md or html")
    env = _environment(fmt == "html")
    template = env.get_template(f"digest.{fmt}.j2")
    page = None
    if base_url and digest.id is not None:
        page = safe_url(f"{base_url.rstrip('/')}/digests/{digest.id}") or None
    return template.render(digest=digest, page=page)


__all__ = ["FORMATS", "DigestFormat", "md_text", "render_digest", "safe_url"]
