"""The catalog of learning resources: the built-in data, list imports, OPML, link health,
learning paths and profiles.  Pure decisions live here; storage and I/O are elsewhere."""
