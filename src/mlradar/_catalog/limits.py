"""How link checks are bounded by default: here, apart from :mod:`.health`, so that the
command line can show them without importing an HTTP client."""

#: Seconds a link check waits for one URL.
DEFAULT_TIMEOUT = 20.0
#: Checks in flight at once, over all hosts.
DEFAULT_CONCURRENCY = 8
