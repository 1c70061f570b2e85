"""The HTTP layer: one polite, bounded, SSRF-safe asyncio client for every fetch.

Use ``async with Fetcher(settings, policies=arxiv_policies(settings)) as f:`` and
``await f.get(url, etag=..., last_modified=...)``.
"""

from mlradar._fetch.client import (
    Fetcher,
    Response,
    last_response_status,
    reset_response_status,
)
from mlradar._fetch.politeness import (
    ARXIV_HOSTS,
    Clock,
    HostPolicy,
    SystemClock,
    arxiv_policies,
)
from mlradar._fetch.safety import AddressGuard, Resolver, address_problem, system_resolver

__all__ = [
    "ARXIV_HOSTS",
    "AddressGuard",
    "Clock",
    "Fetcher",
    "HostPolicy",
    "Resolver",
    "Response",
    "SystemClock",
    "address_problem",
    "arxiv_policies",
    "last_response_status",
    "reset_response_status",
    "system_resolver",
]
