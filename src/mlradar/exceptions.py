"""The exceptions mlradar raises.

Every error derives from :class:`RadarError`, so ``except RadarError`` is enough to
catch anything the library means to report.  The subclasses also derive from the
builtin that fits (``LookupError`` for "no such thing", ``ValueError`` for bad
input) so that generic code keeps working.

Adapters (CLI, REST API, web) turn these into one-line messages or HTTP codes;
the library never prints.
"""

from __future__ import annotations


class RadarError(Exception):
    """The root of every error mlradar raises on purpose."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message or self.__class__.__name__


class StorageError(RadarError):
    """The database failed, or is not a database mlradar can use."""


class SchemaError(StorageError):
    """The database schema is newer than this version of mlradar, or broken."""


class InvalidInputError(RadarError, ValueError):
    """An argument given by the user or a caller is malformed."""


class NotFoundError(RadarError, LookupError):
    """The requested record does not exist."""


class UserExistsError(InvalidInputError):
    """A user with that name exists already."""


class SourceError(RadarError):
    """Something about one source went wrong.  ``url`` names the source."""

    def __init__(self, url: str, message: str = "") -> None:
        super().__init__(message)
        self.url = url

    def __str__(self) -> str:
        return f"{self.url}: {self.message}" if self.message else self.url


class SourceNotFoundError(SourceError, NotFoundError):
    """No source is subscribed under that URL or id."""


class SourceExistsError(SourceError, InvalidInputError):
    """A source with that URL is already subscribed."""


class FetchError(SourceError):
    """Fetching a URL failed: network error, timeout, HTTP error status, too large.

    ``retry_after`` (seconds) is set when the server said when to come back (Retry-After),
    so the scheduler can honour it.
    """

    def __init__(
        self,
        url: str,
        message: str = "",
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(url, message)
        self.status = status
        self.retry_after = retry_after


class UnsafeURLError(FetchError, InvalidInputError):
    """The URL points at a private, loopback or link-local address, or an unsupported scheme.

    Allow private networks explicitly with ``MLRADAR_ALLOW_PRIVATE_NETWORKS=1``.
    """


class ParseError(SourceError, ValueError):
    """The document fetched is not a feed (or any other format expected)."""


class SearchQueryError(InvalidInputError):
    """The search query is not valid syntax."""


class DeferredError(FetchError):
    """The request was never sent: its host asked for a pause (Retry-After, in answer to
    another request) that the run cannot wait out.  The source is deferred, not failed:
    ``retry_after`` says how long the pause has left."""


class AuthError(RadarError):
    """Logging in failed, or a request carries no valid credentials."""


class LoginRateLimitedError(AuthError):
    """Too many failed logins for an account or from an address; ``retry_after`` seconds."""

    def __init__(self, message: str = "", *, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DigestAlreadySentError(RadarError):
    """The digest of this period was sent already (or a sender claimed it and did not say
    how it went): a period is never sent twice."""


class RunnerBusyError(RadarError):
    """Another runner (``mlradar worker``, or ``serve``'s background worker) is updating this
    database now; an exclusive update does not start beside it."""


class EmailError(RadarError):
    """Sending email failed: SMTP is not configured, or the server refused or was unreachable."""


class FeedTokenError(NotFoundError):
    """A feed token is unknown, revoked, or does not open the view asked for."""
