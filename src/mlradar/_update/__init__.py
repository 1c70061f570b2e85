"""Updating sources: the fetch-parse-store pipeline and the scheduling decisions."""
