"""Turn URL inputs into blobs without surprise network calls.

Hume's ``urls`` and Eden AI's ``file_url`` name media on the internet, but an emulator that
fetches whatever a client names is an SSRF hole and makes tests depend on the network. So a
:class:`Resolver` looks in this order and stops at the first hit:

1. ``url_map``: the exact URL string, mapped to a local file;
2. ``root`` (the media directory): ``root/<host>/<path>``, ``root/<path>``, ``root/<basename>``,
   then the one file of that basename anywhere below ``root``,
   with ``..`` refused and the resolved file required to stay under ``root``;
3. only when ``fetch`` is on: one HTTP(S) GET, and only if the URL passes the
   :class:`~mockserver.engine.egress.HostAllowList` *and* every address its host resolves to
   passes :func:`address_problem`. The connection goes to the address that was checked (no
   second lookup, so DNS rebinding cannot swap it), redirects are never followed, and the body
   is read under the same size limit as an upload.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import ipaddress
import os
import socket
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeAlias
from urllib.parse import SplitResult, unquote, unquote_to_bytes, urlsplit

from mockserver.engine.archives import sidecar_beside
from mockserver.engine.egress import HostAllowList
from mockserver.engine.media import Blob, Limits, MediaError, human_bytes, read_stream

__all__ = [
    "METADATA_ADDRESSES",
    "METADATA_HOSTS",
    "USER_AGENT",
    "Lookup",
    "Resolver",
    "address_problem",
    "system_lookup",
]

USER_AGENT = "mockserver-media/1"
METADATA_HOSTS = frozenset({"metadata", "metadata.google.internal"})
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
Lookup: TypeAlias = Callable[[str, int], Sequence[str]]


def system_lookup(host: str, port: int) -> list[str]:
    """Resolve a host name to its TCP addresses with the system resolver, in its order."""
    found: list[str] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = str(sockaddr[0])
        if address not in found:
            found.append(address)
    return found


def address_problem(address: IPAddress, allow: HostAllowList) -> str | None:
    """Say why a resolved address must not be contacted, or None when it may be.

    Metadata, link-local, unspecified, multicast and reserved addresses are always refused;
    loopback and other non-public addresses only pass when an allow-list network holds them
    (so an allowed name that resolves to 10.0.0.1 is refused unless 10.0.0.0/8 is listed).
    Addresses embedding IPv4 (``::ffff:a.b.c.d``, NAT64) are judged by their IPv4 part.
    """
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return address_problem(embedded, allow)
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address, which is never fetched"
    for refused, label in (
        (address.is_unspecified, "the unspecified address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
    ):
        if refused:
            return f"{label}, which is never fetched"
    if address.is_reserved and not address.is_loopback:
        return "a reserved address, which is never fetched"
    if address.is_global:
        return None
    literal = f"[{address}]" if address.version == 6 else str(address)
    if allow.check(f"http://{literal}/") is None:
        return None
    return "a private or loopback address that is not in the allow-list"


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


class Resolver:
    """Resolve URL inputs to blobs: mapped files, the media directory, then (opt-in) HTTP.

    ``allow`` defaults to loopback only. ``url_map`` keys are matched as exact strings, any
    scheme; everything else must be http(s) (or a ``data:`` URL, decoded in place). The query
    string plays no part in the media-directory lookup. ``timeout`` bounds the connect and each
    read; ``max_seconds`` bounds a whole download, so a server trickling bytes cannot hold a
    worker. ``lookup`` replaces the system resolver
    (tests use it to stage DNS answers); ``ssl_context`` the default TLS settings.
    """

    def __init__(
        self,
        root: Path | None = None,
        url_map: Mapping[str, Path] | None = None,
        *,
        fetch: bool = False,
        allow: HostAllowList | None = None,
        limits: Limits | None = None,
        timeout: float = 10.0,
        max_seconds: float = 300.0,
        lookup: Lookup = system_lookup,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._root = root.resolve() if root is not None else None
        self._url_map = dict(url_map or {})
        self._fetch = fetch
        self._allow = allow if allow is not None else HostAllowList()
        self._limits = limits if limits is not None else Limits()
        self._timeout = timeout
        self._max_seconds = max_seconds
        self._lookup = lookup
        self._ssl_context = ssl_context

    def resolve(self, url: str) -> Blob:
        """Return the content ``url`` names, or raise :class:`MediaError` saying what to do."""
        found = self._local_path(url)
        if found is not None:
            return self._read_file(found, url)
        parts = _split(url)
        if parts.scheme == "data":
            return _data_url(url, self._limits)
        if self._fetch:
            return self._download(url, parts)
        where = f"under the media directory {str(self._root)!r}" if self._root else ""
        raise MediaError(
            "unresolvable_url",
            f"No media for {url!r}: the server makes no network calls unless fetching is"
            f" enabled, and the URL is not in the media map{' or ' + where if where else ''}."
            " Add the file to the media map or the media directory, or enable fetching for"
            " its host.",
            name=url,
        )

    def sidecar(self, url: str) -> str | None:
        """The transcript beside a local file ``url`` resolves to: ``clip.txt`` for ``clip.wav``.

        The same rule archives follow (:func:`archives.pair_sidecars`), applied to the media
        map and the media directory, so ``https://example.com/happy.wav`` brings the bundled
        ``happy.txt`` as its transcript. None for data: URLs, downloads and files without one.
        """
        try:
            path = self._local_path(url)
        except MediaError:
            return None
        if path is None:
            return None
        return sidecar_beside(path)

    def _local_path(self, url: str) -> Path | None:
        """The local file ``url`` names: the media map's entry, else one under the root.

        A data: URL names no file; a malformed URL raises :class:`MediaError`.
        """
        mapped = self._url_map.get(url)
        if mapped is not None:
            return mapped
        parts = _split(url)
        return None if parts.scheme == "data" else self._find_under_root(parts, url)

    def _read_file(self, path: Path, url: str) -> Blob:
        try:
            with open(path, "rb") as reader:
                return read_stream(reader, name=url, limits=self._limits)
        except OSError as exc:
            raise MediaError(
                "unresolvable_url",
                f"{url!r} maps to {str(path)!r}, which cannot be read ({exc.strerror or exc});"
                " fix the media map or the media directory.",
                name=url,
            ) from exc

    def _find_under_root(self, parts: SplitResult, url: str) -> Path | None:
        """Try ``root/<host>/<path>``, ``root/<path>``, ``root/<basename>``, in that order.

        Last, a file of that basename anywhere under ``root`` when exactly one exists, so
        ``https://example.com/happy.wav`` finds ``audio/happy.wav`` among the bundled samples.
        """
        if self._root is None:
            return None
        segments = _path_segments(parts.path, url)
        if not segments:
            return None
        host = parts.hostname or ""
        candidates = [segments, segments[-1:]]
        if host not in ("", ".", "..") and "/" not in host:
            candidates.insert(0, [host, *segments])
        for candidate in candidates:
            path = self._root.joinpath(*candidate)
            if _is_file(path):
                if not path.resolve().is_relative_to(self._root):
                    raise MediaError(
                        "unsafe_path",
                        f"{url!r} matches {str(path)!r}, which links outside the media"
                        " directory; copy the file into the media directory instead.",
                        name=url,
                    )
                return path
        return self._unique_by_name(segments[-1], url)

    def _unique_by_name(self, name: str, url: str) -> Path | None:
        """The one file named exactly ``name`` under the root (never a glob: a URL's ``*`` or
        ``[`` is a character of the name, and ``a**b`` is no pattern error)."""
        assert self._root is not None
        matches: list[Path] = []
        for folder, _, names in os.walk(self._root):
            if name in names and _is_file(found := Path(folder, name)):
                matches.append(found)
                if len(matches) > 1:
                    return None
        if len(matches) != 1 or not matches[0].resolve().is_relative_to(self._root):
            return None
        return matches[0]

    def _download(self, url: str, parts: SplitResult) -> Blob:
        """GET ``url`` from a checked address, refusing before any connection when unsafe."""
        reason = self._allow.check(url, purpose="media fetch")
        host = (parts.hostname or "").rstrip(".")
        if reason is None and host in METADATA_HOSTS:
            reason = f"{host!r} is a cloud metadata host, which is never fetched"
        if reason is not None:
            raise _refused(url, reason)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = self._checked_addresses(url, host, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if parts.scheme == "https":
            context = self._ssl_context or ssl.create_default_context()
            conn: http.client.HTTPConnection = _PinnedHTTPS(
                host, port, addresses, self._timeout, context
            )
        else:
            conn = _PinnedHTTP(host, port, addresses, self._timeout)
        try:
            conn.request("GET", target, headers=_REQUEST_HEADERS)
            with conn.getresponse() as response:
                self._check_response(url, response)
                deadline = _Deadline(response, time.monotonic() + self._max_seconds, url)
                return read_stream(deadline, name=url, limits=self._limits)
        except (OSError, http.client.HTTPException) as exc:
            detail = str(exc) or type(exc).__name__
            raise _failed(url, f"the connection failed ({detail})") from exc
        finally:
            conn.close()

    def _checked_addresses(self, url: str, host: str, port: int) -> list[str]:
        """Resolve ``host`` once and refuse the URL unless every address is acceptable."""
        try:
            addresses = [ipaddress.ip_address(host)]
        except ValueError:
            try:
                addresses = [ipaddress.ip_address(a) for a in self._lookup(host, port)]
            except (OSError, ValueError) as exc:
                raise _failed(url, f"its host {host!r} could not be resolved ({exc})") from exc
        if not addresses:
            raise _failed(url, f"its host {host!r} has no addresses")
        for address in addresses:
            problem = address_problem(address, self._allow)
            if problem is not None:
                raise _refused(url, f"{host} resolves to {address}, {problem}")
        return [str(a) for a in addresses]

    def _check_response(self, url: str, response: http.client.HTTPResponse) -> None:
        status = response.status
        if 300 <= status < 400:
            location = response.getheader("location", "(no Location header)")
            raise _refused(
                url,
                f"it redirects ({status}) to {location!r} and redirects are never followed;"
                " use the final URL",
            )
        if not 200 <= status < 300:
            raise _failed(url, f"the server answered {status} {response.reason}".rstrip())
        announced = response.getheader("content-length", "")
        limit = self._limits.max_file_bytes
        if announced.isdigit() and int(announced) > limit:
            raise MediaError(
                "too_large",
                f"{url!r} is {human_bytes(int(announced))}, more than the limit of"
                f" {human_bytes(limit)} per file; send a smaller file.",
                name=url,
            )


_REQUEST_HEADERS = {"User-Agent": USER_AGENT, "Accept": "*/*", "Accept-Encoding": "identity"}


def _refused(url: str, reason: str) -> MediaError:
    return MediaError(
        "fetch_refused",
        f"Refusing to fetch {url!r}: {reason}. Put the file in the media directory or media"
        " map, or allow-list a host that is safe to contact.",
        name=url,
    )


def _failed(url: str, reason: str) -> MediaError:
    return MediaError("fetch_failed", f"Fetching {url!r} failed: {reason}.", name=url)


def _split(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise MediaError("unsupported_url", f"{url!r} is not a valid URL ({exc}).") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https", "data"):
        shown = f"the {scheme}: scheme" if scheme else "no scheme"
        raise MediaError(
            "unsupported_url",
            f"{url!r} uses {shown}; only http:// and https:// URLs (or data: URLs) are accepted.",
            name=url,
        )
    return parts._replace(scheme=scheme)


def _is_file(path: Path) -> bool:
    """``path.is_file()``, False for a name the file system refuses (too long, say): a URL
    path that names nothing here is a miss, not an error."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _path_segments(path: str, url: str) -> list[str]:
    """Percent-decode a URL path into segments, refusing ``..`` and backslashes."""
    segments = [s for s in unquote(path).split("/") if s not in ("", ".")]
    if any(s == ".." or "\\" in s or "\0" in s for s in segments):
        raise MediaError(
            "unsafe_path",
            f"{url!r} has '..', a backslash or a NUL in its path; use a plain path.",
            name=url,
        )
    return segments


def _data_url(url: str, limits: Limits) -> Blob:
    """Decode ``data:[type][;base64],payload`` (RFC 2397); the declared type is ignored."""
    header, comma, payload = url[5:].partition(",")
    if not comma:
        raise MediaError("unsupported_url", "A data: URL needs a ',' before its data.", name=url)
    if len(payload) * 3 // 4 > limits.max_file_bytes:
        limit = human_bytes(limits.max_file_bytes)
        message = f"The data: URL is larger than the limit of {limit} per file."
        raise MediaError("too_large", message, name="data:")
    try:
        if header.lower().endswith(";base64"):
            data = base64.b64decode(unquote(payload), validate=True)
        else:
            data = unquote_to_bytes(payload)
    except (binascii.Error, ValueError) as exc:
        message = f"The data: URL has malformed base64 ({exc})."
        raise MediaError("unsupported_url", message, name="data:") from exc
    return Blob.from_bytes(data, name="data:")


class _Deadline:
    """Read a response in whatever pieces arrive, refusing to go on past a wall-clock deadline.

    ``read1`` returns after one network read, so a trickling server is noticed between pieces
    instead of after a 64 KiB buffer fills.
    """

    def __init__(self, response: http.client.HTTPResponse, deadline: float, url: str) -> None:
        self._response = response
        self._deadline = deadline
        self._url = url

    def read(self, size: int = -1, /) -> bytes:
        if time.monotonic() > self._deadline:
            raise _failed(self._url, "the download took too long")
        return self._response.read1(size)


def _connect_any(addresses: Sequence[str], port: int, timeout: float | None) -> socket.socket:
    """Open a TCP connection to the first checked address that answers."""
    error: OSError = OSError("no address to connect to")
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout)
        except OSError as exc:
            error = exc
    raise error


class _PinnedHTTP(http.client.HTTPConnection):
    """HTTP to a pre-checked address; ``Host`` still names the URL's host."""

    def __init__(self, host: str, port: int, addresses: Sequence[str], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._addresses = addresses

    def connect(self) -> None:
        self.sock = _connect_any(self._addresses, self.port, self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a pre-checked address; SNI and certificate checks use the URL's host."""

    def __init__(
        self,
        host: str,
        port: int,
        addresses: Sequence[str],
        timeout: float,
        context: ssl.SSLContext,
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._addresses = addresses
        self._tls = context

    def connect(self) -> None:
        sock = _connect_any(self._addresses, self.port, self.timeout)
        try:
            self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
