"""Feeds out: every list view as an Atom feed (feedgen), and the tokens of private feeds.

:func:`build_atom` is the one writer: it takes plain records (:class:`OutEntry`), so the
facade decides what a view holds and this package only how Atom says it.
"""

from __future__ import annotations

from mlradar._feedsout.atom import OutEntry, build_atom, xml_text
from mlradar._feedsout.tokens import hash_token, new_token_secret, parse_view

__all__ = ["OutEntry", "build_atom", "hash_token", "new_token_secret", "parse_view", "xml_text"]
