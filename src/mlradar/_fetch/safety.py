"""Server-side request forgery guard: mlradar fetches URLs that users (and feeds) hand it.

Two layers, both applied on every redirect hop:

* :meth:`AddressGuard.check_url` refuses non-http(s) schemes, ``localhost`` names and
  literal IP addresses that are not public, before any I/O;
* :class:`GuardedBackend` is the httpcore network backend of the default transport: it
  resolves the host itself, refuses the connection if ANY resolved address is not
  public, and then connects to those very addresses.  Because the address checked is
  the address connected to, DNS rebinding (a name that resolves to a public address for
  the check and to 127.0.0.1 for the connection) cannot slip through.  TLS still
  verifies the certificate against the host name, not the IP.

Residual risks: a caller-supplied httpx transport bypasses the DNS layer (it is meant
for tests and for callers who bring their own network); proxies are not used at all,
since a proxy would resolve names where this guard cannot see.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

import httpcore
import httpx

from mlradar.exceptions import UnsafeURLError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Resolves ``(host, port)`` to IP address strings.  Injectable for tests.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

ALLOWED_SCHEMES = frozenset({"http", "https"})

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_HINT = "set allow_private_networks to allow it"


async def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's resolver (getaddrinfo), addresses in its preferred order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def os_reason(exc: BaseException) -> str:
    """The operating system's words for a failed connection ("connection refused").

    anyio wraps the real error in "All connection attempts failed", and asyncio's own
    message is "Connect call failed (addr)": the errno is what says why.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno:
            text = os.strerror(current.errno)
            return text[:1].lower() + text[1:]
        if isinstance(current, BaseExceptionGroup) and current.exceptions:
            current = current.exceptions[0]
        else:
            current = current.__cause__ or current.__context__
    return " ".join(str(exc).split()) or type(exc).__name__


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_problem(ip: IPAddress) -> str | None:
    """Why ``ip`` must not be fetched ("a loopback address", ...), or None if it is public."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            problem = address_problem(embedded)
            if problem is not None:
                return problem
        if ip.is_site_local:
            return "a site-local address"
    checks = (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        # Catches what the named ranges miss (100.64.0.0/10 shared address space, ...).
        (not ip.is_global, "a non-public address"),
    )
    for failed, reason in checks:
        if failed:
            return reason
    return None


def is_local_name(host: str) -> bool:
    """``localhost`` and ``*.localhost`` always mean this machine (RFC 6761)."""
    name = host.rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost")


def _parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class AddressGuard:
    """Decides which hosts and addresses may be fetched.

    ``exempt`` lists ``(ip, port)`` pairs allowed even though not public: it lets tests
    mark their loopback server as allowed while still proving that a redirect to any
    other private address (another port included) is refused.
    """

    allow_private: bool = False
    exempt: frozenset[tuple[IPAddress, int]] = frozenset()

    @classmethod
    def create(cls, *, allow_private: bool, exempt: Iterable[tuple[str, int]] = ()) -> AddressGuard:
        """Build a guard; ``exempt`` holds ``(ip string, port)`` pairs."""
        pairs = frozenset((ipaddress.ip_address(ip), int(port)) for ip, port in exempt)
        return cls(allow_private=allow_private, exempt=pairs)

    def _refusal(self, ip: IPAddress, port: int) -> str | None:
        if self.allow_private or (ip, port) in self.exempt:
            return None
        return address_problem(ip)

    def check_url(self, url: httpx.URL) -> None:
        """Refuse a URL on its face: scheme, ``localhost`` names, non-public literal IPs."""
        text = str(url)
        if url.scheme not in ALLOWED_SCHEMES:
            shown = url.scheme or "(none)"
            raise UnsafeURLError(text, f"unsupported URL scheme {shown!r}: only http and https")
        host = url.host
        if not host:
            raise UnsafeURLError(text, "the URL has no host")
        port = url.port or (443 if url.scheme == "https" else 80)
        ip = _parse_ip(host)
        if ip is not None:
            problem = self._refusal(ip, port)
            if problem is not None:
                raise UnsafeURLError(text, f"refusing {ip}: {problem} ({_HINT})")
        elif is_local_name(host) and not self.allow_private:
            raise UnsafeURLError(text, f"refusing {host}: a loopback address ({_HINT})")

    def check_addresses(self, host: str, port: int, addresses: Sequence[str]) -> None:
        """Refuse the connection unless EVERY address ``host`` resolved to may be fetched."""
        for text in addresses:
            ip = _parse_ip(text)
            if ip is None:
                raise UnsafeURLError(host, f"refusing {host}: resolved to a non-IP {text!r}")
            problem = self._refusal(ip, port)
            if problem is not None:
                shown = host if _parse_ip(host) is not None else f"{host} (resolves to {ip})"
                raise UnsafeURLError(host, f"refusing {shown}: {problem} ({_HINT})")


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolve, check every address, then connect to a checked address (no second lookup)."""

    def __init__(
        self,
        guard: AddressGuard,
        resolver: Resolver | None = None,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._guard = guard
        self._resolver: Resolver = resolver or system_resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def _resolve(self, host: str, port: int, timeout: float | None) -> Sequence[str]:
        if _parse_ip(host) is not None:
            return [host.strip("[]")]
        try:
            async with asyncio.timeout(timeout):
                addresses = await self._resolver(host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"looking up {host} timed out") from None
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise httpcore.ConnectError(f"cannot resolve {host}: {reason}") from None
        if not addresses:
            raise httpcore.ConnectError(f"cannot resolve {host}: no address")
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._resolve(host, port, timeout)
        self._guard.check_addresses(host, port, addresses)
        failure: Exception | None = None
        # Try the checked addresses in the resolver's order, as getaddrinfo users do.
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectTimeout as exc:
                failure = exc
            except httpcore.ConnectError as exc:
                failure = httpcore.ConnectError(os_reason(exc))
                failure.__cause__ = exc
        raise failure or httpcore.ConnectError(f"cannot connect to {host}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own HTTP/1.1 transport, with its connection pool built on GuardedBackend.

    httpx offers no public hook for the network backend, so the pool it builds is
    replaced; the isinstance check makes an incompatible httpx fail at start, loudly.
    """

    def __init__(
        self, guard: AddressGuard, *, limits: httpx.Limits, resolver: Resolver | None = None
    ) -> None:
        super().__init__(http1=True, http2=False, limits=limits, trust_env=True)
        if not isinstance(self._pool, httpcore.AsyncConnectionPool):
            raise TypeError("unsupported httpx version: its transport has no connection pool")
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=GuardedBackend(guard, resolver),
        )
