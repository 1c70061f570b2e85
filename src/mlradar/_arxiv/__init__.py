"""arXiv: papers as first-class records.

* :mod:`.records` turns every arXiv format (bulk snapshot, export API, OAI-PMH, listings)
  into :class:`mlradar.types.Paper`, and merges two records of one paper;
* :mod:`.snapshot` and :mod:`.importer` stream the bulk metadata snapshot into storage,
  resumably;
* :mod:`.api`, :mod:`.oai` and :mod:`.listing` are the network clients (always through the
  polite :class:`mlradar._fetch.Fetcher`);
* :mod:`.bibtex` writes BibTeX.

Nothing is imported here, so that importing one part does not load the others.
"""
