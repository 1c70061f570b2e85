"""Enrichment from outside services: Semantic Scholar's Graph and Recommendations APIs.

The client (:mod:`mlradar._enrich.s2`) builds requests and parses answers; what is asked
and what is cached is decided by the facade, which stores the raw answers with their date
(``enrich_cache``) so a re-run asks only for what is missing or stale.
"""

from mlradar._enrich.s2 import (
    KINDS,
    S2Client,
    enrichment_from,
    s2_policies,
    s2_ref,
)

__all__ = ["KINDS", "S2Client", "enrichment_from", "s2_policies", "s2_ref"]
