"""Content-Encoding decoding with a bound on the DECODED size.

httpx's own decoders inflate a whole network chunk at once, so one 64 KiB chunk of a
gzip bomb can become tens of megabytes before any size check runs.  zlib's
``max_length`` lets us stop at the cap instead.  Only gzip and deflate are offered
(``Accept-Encoding: gzip, deflate``): they are all feeds need, and brotli's Python
bindings have no equivalent bound.
"""

from __future__ import annotations

import zlib

ACCEPT_ENCODING = "gzip, deflate"

_GZIP_OR_ZLIB = 32 + zlib.MAX_WBITS  # zlib auto-detects either header
_ZLIB = zlib.MAX_WBITS
_RAW_DEFLATE = -zlib.MAX_WBITS


class DecodingError(ValueError):
    """The body is not valid data for its Content-Encoding, or uses one we do not offer."""


class BoundedDecoder:
    """Decodes a body chunk by chunk, never producing more than asked for."""

    def __init__(self, content_encoding: str | None) -> None:
        encoding = (content_encoding or "").strip().lower()
        self._raw_fallback = False
        self._head = b""  # bytes fed while the raw-deflate fallback is still possible
        if encoding in ("", "identity"):
            self._inflater = None
        elif encoding in ("gzip", "x-gzip"):
            self._inflater = zlib.decompressobj(_GZIP_OR_ZLIB)
        elif encoding == "deflate":
            # "deflate" should be zlib-wrapped, but many servers send raw deflate.
            self._inflater = zlib.decompressobj(_ZLIB)
            self._raw_fallback = True
        else:
            raise DecodingError(f"unsupported Content-Encoding {encoding!r}")

    @property
    def identity(self) -> bool:
        """The body is not compressed: its Content-Length is its decoded size."""
        return self._inflater is None

    def feed(self, data: bytes, limit: int) -> bytes:
        """Decode ``data``; at most ``limit`` bytes come out (``limit`` >= 1).

        Getting exactly ``limit`` bytes back means "there may be more": callers pass
        the bytes they have left plus one, so a full answer signals an overflow.
        """
        if self._inflater is None:
            return data[:limit]
        if self._inflater.eof:
            return b""  # trailing garbage after the compressed stream
        try:
            out = self._inflater.decompress(data, limit)
        except zlib.error as exc:
            if not self._raw_fallback:
                raise DecodingError(f"corrupt compressed body: {exc}") from None
            replay, self._head, self._raw_fallback = self._head + data, b"", False
            self._inflater = zlib.decompressobj(_RAW_DEFLATE)
            return self.feed(replay, limit)
        if self._raw_fallback:
            self._head += data
            # Two bytes make a zlib header: once they pass, it is not raw deflate.
            if len(self._head) >= 2:
                self._raw_fallback, self._head = False, b""
        return out

    def flush(self, limit: int) -> bytes:
        """Whatever the decompressor still buffers, at most ``limit`` bytes."""
        if self._inflater is None or self._inflater.eof:
            return b""
        try:
            out = self._inflater.decompress(self._inflater.unconsumed_tail, limit)
        except zlib.error as exc:
            raise DecodingError(f"corrupt compressed body: {exc}") from None
        return out
