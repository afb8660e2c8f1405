"""Outbound HTTP that cannot reach elsewhere: a host allow-list and a no-redirect client.

Everything the server sends out (webhooks today, media fetches later) goes through these two
pieces. :class:`HostAllowList` admits only listed IP networks and literal host names (loopback by
default) and refuses every spelling trick that could make a resolver or an HTTP library reach a
different host; names are matched, never resolved. :class:`UrllibClient` never follows redirects.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
from collections.abc import Iterable, Mapping
from typing import NamedTuple, Protocol, TypeAlias
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_ALLOW",
    "HostAllowList",
    "HttpClient",
    "HttpResponse",
    "USER_AGENT",
    "UrllibClient",
]

DEFAULT_ALLOW: tuple[str, ...] = ("127.0.0.0/8", "::1", "localhost")
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "mockserver-webhooks/1"
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_UNSAFE_URL_CHARS = re.compile(r"[\x00-\x20\x7f\\]")
# host[:port] with nothing else: no userinfo, no text after "]" or between host and port.
_NETLOC = re.compile(r"(?:\[[0-9A-Za-z:.%]+\]|[^\[\]:@]+)(?::[0-9]*)?")
IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network


class HttpResponse(NamedTuple):
    """What came back from a POST: status, lower-cased header names, at most 64 KiB of body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class HttpClient(Protocol):
    """Sends one POST; raises ``OSError`` (timeouts included) when no HTTP response came back."""

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> HttpResponse: ...


class UrllibClient:
    """POST with stdlib ``http.client``: one connection per request, redirects never followed.

    A 3xx is returned as-is: following it would let a receiver bounce us past the allow-list.
    ``timeout`` bounds the connect and each socket read, not the whole exchange.
    """

    def __init__(
        self, *, ssl_context: ssl.SSLContext | None = None, max_body: int = MAX_RESPONSE_BYTES
    ) -> None:
        self._ssl_context = ssl_context
        self._max_body = max_body

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> HttpResponse:
        conn, target = self._connect(url, timeout)
        try:
            conn.request("POST", target, body=body, headers=dict(headers))
            response = conn.getresponse()
            data = response.read(self._max_body)
            received: dict[str, str] = {}
            for name, value in response.getheaders():
                key = name.lower()
                received[key] = f"{received[key]}, {value}" if key in received else value
            return HttpResponse(response.status, received, data)
        except (http.client.HTTPException, ValueError) as exc:
            raise OSError(f"{type(exc).__name__}: {exc}") from exc
        finally:
            conn.close()

    def _connect(self, url: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
        """Build an unopened connection to exactly the URL's host and port, plus the target."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise OSError(f"invalid URL: {exc}") from exc
        host = parts.hostname
        if parts.scheme.lower() not in ("http", "https") or not host:
            raise OSError(f"cannot POST to {url!r}: only http(s) URLs with a host")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        # Always pass the port: http.client would read "::1" as host ":" and port 1.
        if parts.scheme.lower() == "https":
            context = self._ssl_context or ssl.create_default_context()
            https = http.client.HTTPSConnection(host, port or 443, timeout=timeout, context=context)
            return https, target
        return http.client.HTTPConnection(host, port or 80, timeout=timeout), target


class HostAllowList:
    """Decide which outbound URLs may be contacted: IP networks, exact names, ``*.suffix`` names.

    Names are compared as written and never resolved (the server is offline, and resolving would
    open DNS-rebinding games). Anything that an OS resolver might read as an IP address but is
    not one in canonical form (``0x7f000001``, ``127.1``, ``2130706433``) is refused outright.
    """

    def __init__(self, patterns: Iterable[str] = DEFAULT_ALLOW) -> None:
        self._networks: list[IPNetwork] = []
        self._names: set[str] = set()
        self._suffixes: list[str] = []
        for raw in patterns:
            self._add(raw.strip().lower())

    def _add(self, pattern: str) -> None:
        try:
            self._networks.append(ipaddress.ip_network(pattern.strip("[]"), strict=False))
            return
        except ValueError:
            pass
        name = pattern[2:] if pattern.startswith("*.") else pattern
        if not _HOST_NAME.fullmatch(name) or _looks_numeric(name):
            raise ValueError(f"invalid allow-list entry {pattern!r}")
        if pattern.startswith("*."):
            self._suffixes.append("." + name)
        else:
            self._names.add(name)

    def check(self, url: str, purpose: str = "webhook") -> str | None:
        """Return why ``url`` may not be contacted, or None when it may.

        ``purpose`` names the list in refusals ("not in the webhook allow-list"), so webhooks
        and media fetches share one mechanism and each explains itself in its own words.
        """
        if _UNSAFE_URL_CHARS.search(url):
            return "URL contains whitespace, control characters or backslashes"
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - validates the port (raises ValueError when out of range)
        except ValueError as exc:
            return f"malformed URL: {exc}"
        if parts.scheme.lower() not in ("http", "https"):
            return f"scheme {parts.scheme or '(none)'!r} is not allowed: only http and https"
        if "@" in parts.netloc:
            return "credentials in the URL are not allowed"
        if parts.netloc and not _NETLOC.fullmatch(parts.netloc):
            return f"malformed host and port {parts.netloc!r}"
        host = parts.hostname
        if not host:
            return "URL has no host"
        return self._check_host(host, purpose)

    def _check_host(self, host: str, purpose: str) -> str | None:
        """Match a lower-cased, bracket-less host against the entries."""
        try:
            address: IPAddress = ipaddress.ip_address(host)
        except ValueError:
            return self._check_name(host, purpose)
        if address.version == 6 and "%" in host:
            return f"IPv6 zone identifiers are not allowed ({host})"
        candidates: list[IPAddress] = [address]
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            candidates.append(address.ipv4_mapped)
        for net in self._networks:
            if any(a.version == net.version and a in net for a in candidates):
                return None
        return f"address {host} is not in the {purpose} allow-list"

    def _check_name(self, host: str, purpose: str) -> str | None:
        if not host.isascii() or not _HOST_NAME.fullmatch(host):
            return f"host name {host!r} is not a plain ASCII DNS name"
        if _looks_numeric(host):
            return f"host {host!r} is a non-canonical IP address"
        if host in self._names or any(host.endswith(s) for s in self._suffixes):
            return None
        return f"host {host!r} is not in the {purpose} allow-list"


def _looks_numeric(host: str) -> bool:
    """Tell whether a resolver could take ``host`` for an IPv4 address (inet_aton forms).

    WHATWG URL parsing treats a name whose last label is numeric as IPv4 too, so refuse those.
    """
    try:
        socket.inet_aton(host)
        return True
    except OSError:
        pass
    last = host.rsplit(".", 1)[-1]
    return bool(re.fullmatch(r"[0-9]+|0x[0-9a-f]*", last))
