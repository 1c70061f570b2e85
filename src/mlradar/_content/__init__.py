"""Content of entries: HTML sanitized for display and flattened to text for search
(:mod:`~mlradar._content.html`), and the accent folding keys and features share
(:mod:`~mlradar._content.text`).

Nothing is re-exported here, so that importing the folding does not import nh3.
"""
