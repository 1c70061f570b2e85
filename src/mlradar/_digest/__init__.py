"""Digests: a personal newsletter composed from what the radar knows.

:func:`compose_digest` is pure: given the recommendations, the most discussed stories,
the new posts of followed blogs and newsletters and the next learning-path step, it
builds a :class:`~mlradar.types.Digest` with one line on why each entry is there.
:func:`render_digest` turns a digest into Markdown or HTML (Jinja2 templates in this
package, feed text escaped); :mod:`.mail` sends it over SMTP.
"""

from __future__ import annotations

from mlradar._digest.compose import DigestInputs, compose_digest
from mlradar._digest.render import DigestFormat, render_digest

__all__ = ["DigestFormat", "DigestInputs", "compose_digest", "render_digest"]
