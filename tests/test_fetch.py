"""URL inputs: mapped files, the media directory, and opt-in fetching against real sockets."""

from __future__ import annotations

import hashlib
import ipaddress
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from mockserver.engine.egress import HostAllowList
from mockserver.engine.fetch import Resolver, address_problem
from mockserver.engine.media import Limits, MediaError
from tests.receiver import QuietServer, ServerPool, closed_port

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


@dataclass
class Route:
    status: int = 200
    body: bytes = PNG
    headers: dict[str, str] = field(default_factory=dict)
    length: bool = True  # send Content-Length (else HTTP/1.0, body ends at close)
    trickle: int = 0  # then send this many 10-byte pieces, 50 ms apart


@dataclass
class Origin:
    """A GET server on 127.0.0.1 with fixed routes; it records each request's path and Host."""

    routes: dict[str, Route]
    port: int = 0
    seen: list[tuple[str, str]] = field(default_factory=list)
    scheme: str = "http"

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"


def _handler(origin: Origin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            origin.seen.append((self.path, self.headers.get("Host", "")))
            route = origin.routes.get(self.path, Route(404, b"not found"))
            if not route.length:
                self.protocol_version = "HTTP/1.0"
            self.send_response(route.status)
            for name, value in route.headers.items():
                self.send_header(name, value)
            if route.length:
                self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            try:
                self.wfile.write(route.body)
                for _ in range(route.trickle):
                    self.wfile.flush()
                    time.sleep(0.05)
                    self.wfile.write(b"x" * 10)
            except OSError:
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def serve() -> Iterator[Callable[..., Origin]]:
    pool = ServerPool()

    def start(routes: dict[str, Route], tls: ssl.SSLContext | None = None) -> Origin:
        origin = Origin(routes, scheme="https" if tls else "http")
        server = QuietServer(("127.0.0.1", 0), _handler(origin))
        if tls is not None:
            server.socket = tls.wrap_socket(server.socket, server_side=True)
        origin.port = pool.start(server)
        return origin

    yield start
    pool.close()


def staged(answers: dict[str, Sequence[str]]) -> Callable[[str, int], Sequence[str]]:
    """A DNS stand-in: fixed answers, and a test failure for any other name."""

    def lookup(host: str, port: int) -> Sequence[str]:
        if host not in answers:
            raise AssertionError(f"unexpected DNS lookup of {host!r}")
        return answers[host]

    return lookup


def no_dns(host: str, port: int) -> Sequence[str]:
    raise AssertionError(f"no DNS lookup may happen here ({host!r})")


@pytest.fixture
def no_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything opens a TCP connection."""

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a connection was attempted: {args}")

    monkeypatch.setattr(socket, "create_connection", forbidden)


def code_of(resolver: Resolver, url: str) -> MediaError:
    with pytest.raises(MediaError) as caught:
        resolver.resolve(url)
    assert caught.value.name == url or url.startswith("data:")
    return caught.value


# --------------------------------------------------------------------------- local sources


def test_url_map_is_matched_exactly(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(PNG)
    resolver = Resolver(url_map={"https://cdn.test/x.png?v=1": tmp_path / "a.png"}, lookup=no_dns)
    with resolver.resolve("https://cdn.test/x.png?v=1") as blob:
        assert blob.read_bytes() == PNG and blob.media_type == "image/png"
        assert blob.name == "https://cdn.test/x.png?v=1"
    assert code_of(resolver, "https://cdn.test/x.png?v=2").code == "unresolvable_url"
    mapped = Resolver(url_map={"s3://bucket/x.png": tmp_path / "a.png"}, lookup=no_dns)
    with mapped.resolve("s3://bucket/x.png") as blob:  # an explicit mapping may use any scheme
        assert blob.read_bytes() == PNG


def test_a_mapped_file_that_is_missing_says_so(tmp_path: Path) -> None:
    resolver = Resolver(url_map={"https://cdn.test/x": tmp_path / "gone.png"})
    error = code_of(resolver, "https://cdn.test/x")
    assert error.code == "unresolvable_url" and "gone.png" in error.message


def test_media_directory_is_searched_host_path_then_path_then_basename(tmp_path: Path) -> None:
    (tmp_path / "cdn.test" / "clips").mkdir(parents=True)
    (tmp_path / "clips").mkdir()
    (tmp_path / "cdn.test" / "clips" / "a.txt").write_bytes(b"by host")
    (tmp_path / "clips" / "a.txt").write_bytes(b"by path")
    (tmp_path / "clips" / "b.txt").write_bytes(b"path b")
    (tmp_path / "c.txt").write_bytes(b"by basename")
    resolver = Resolver(tmp_path, lookup=no_dns)

    def text(url: str) -> bytes:
        with resolver.resolve(url) as blob:
            return blob.read_bytes()

    assert text("https://CDN.test:8443/clips/a.txt?sig=1") == b"by host"
    assert text("https://other.test/clips/a.txt") == b"by path"
    assert text("https://other.test/clips/b.txt") == b"path b"
    assert text("http://other.test/deep/er/c.txt") == b"by basename"
    assert text("http://other.test/clips%2Fa.txt") == b"by path"  # decoded before lookup


def test_sidecar_text_beside_a_local_file_is_its_transcript(tmp_path: Path) -> None:
    (tmp_path / "audio").mkdir()
    (tmp_path / "audio" / "clip.wav").write_bytes(b"RIFF")
    (tmp_path / "audio" / "clip.txt").write_bytes(b"\xef\xbb\xbf  Hello there.\n")
    (tmp_path / "mapped.wav").write_bytes(b"RIFF")
    (tmp_path / "mapped.TXT").write_text("Mapped words")
    (tmp_path / "blank.wav").write_bytes(b"RIFF")
    (tmp_path / "blank.txt").write_text("   ")
    (tmp_path / "binary.wav").write_bytes(b"RIFF")
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe\x00")
    mapped = {"https://cdn.example/m": tmp_path / "mapped.wav"}
    resolver = Resolver(tmp_path, mapped)
    assert resolver.sidecar("https://example.com/clip.wav") == "Hello there."
    assert resolver.sidecar("https://cdn.example/m") == "Mapped words"
    assert resolver.sidecar("https://example.com/blank.wav") is None
    assert resolver.sidecar("https://example.com/binary.wav") is None
    assert resolver.sidecar("https://example.com/missing.wav") is None
    assert resolver.sidecar("data:audio/wav;base64,UklGRg==") is None
    assert resolver.sidecar("ftp://example.com/clip.wav") is None  # unsupported: no transcript


@pytest.mark.parametrize(
    "url",
    [
        "http://cdn.test/../secret.txt",
        "http://cdn.test/a/%2e%2e/%2E%2E/secret.txt",
        "http://cdn.test/a%2F..%2F..%2Fsecret.txt",
        "http://cdn.test/a\\..\\secret.txt",
        "http://cdn.test/a%5C..%5Csecret.txt",
        "http://cdn.test/a%00.txt",
    ],
)
def test_the_media_directory_cannot_be_escaped(tmp_path: Path, url: str) -> None:
    root = tmp_path / "media"
    root.mkdir()
    (tmp_path / "secret.txt").write_bytes(b"secret")
    assert code_of(Resolver(root, lookup=no_dns), url).code == "unsafe_path"


def test_a_symlink_out_of_the_media_directory_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "media"
    root.mkdir()
    (tmp_path / "secret.txt").write_bytes(b"secret")
    (root / "leak.txt").symlink_to(tmp_path / "secret.txt")
    error = code_of(Resolver(root, lookup=no_dns), "http://cdn.test/leak.txt")
    assert error.code == "unsafe_path" and "outside the media directory" in error.message


def test_nothing_found_and_fetch_off_explains_the_fixes(tmp_path: Path, no_connect: None) -> None:
    error = code_of(Resolver(tmp_path, lookup=no_dns), "https://cdn.test/clip.wav")
    assert error.code == "unresolvable_url"
    for hint in ("media map", "media directory", "enable fetching", str(tmp_path)):
        assert hint in error.message
    assert code_of(Resolver(lookup=no_dns), "https://cdn.test/a").code == "unresolvable_url"


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://cdn.test/a.wav", "gopher://x/", "/local/path.wav", "cdn.test/a"],
)
def test_other_schemes_are_unsupported(tmp_path: Path, url: str) -> None:
    error = code_of(Resolver(tmp_path, fetch=True, lookup=no_dns), url)
    assert error.code == "unsupported_url" and "http" in error.message


def test_data_urls_are_decoded_without_any_io() -> None:
    resolver = Resolver(lookup=no_dns)
    with resolver.resolve("data:text/plain;base64,aGVsbG8gd29ybGQ=") as blob:
        assert blob.read_bytes() == b"hello world" and blob.media_type == "text/plain"
    with resolver.resolve("data:,a%20b") as blob:
        assert blob.read_bytes() == b"a b"
    assert code_of(resolver, "data:;base64,@@@").code == "unsupported_url"
    assert code_of(resolver, "data:nocomma").code == "unsupported_url"
    small = Resolver(limits=Limits(max_file_bytes=10), lookup=no_dns)
    assert code_of(small, "data:;base64," + "QUFB" * 10).code == "too_large"


# --------------------------------------------------------------------------- fetching


def test_fetch_from_an_allow_listed_loopback_server(serve: Callable[..., Origin]) -> None:
    origin = serve({"/clip.png": Route(body=PNG)})
    resolver = Resolver(fetch=True, lookup=no_dns)  # default allow-list: loopback only
    url = origin.url("/clip.png")
    with resolver.resolve(url) as blob:
        assert blob.read_bytes() == PNG
        assert blob.md5 == hashlib.md5(PNG).hexdigest() and blob.media_type == "image/png"
    assert origin.seen == [("/clip.png", f"127.0.0.1:{origin.port}")]


def test_a_local_file_wins_over_fetching(tmp_path: Path, no_connect: None) -> None:
    (tmp_path / "clip.png").write_bytes(PNG)
    with Resolver(tmp_path, fetch=True, lookup=no_dns).resolve("http://127.0.0.1/clip.png") as b:
        assert b.read_bytes() == PNG


def test_fetch_connects_to_the_checked_address_and_keeps_the_host_name(
    serve: Callable[..., Origin],
) -> None:
    origin = serve({"/a.png": Route()})
    lookups: list[str] = []

    def lookup(host: str, port: int) -> Sequence[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    allow = HostAllowList(["media.test", "127.0.0.0/8"])
    resolver = Resolver(fetch=True, allow=allow, lookup=lookup)
    with resolver.resolve(origin.url("/a.png", host="media.test")) as blob:
        assert blob.read_bytes() == PNG
    assert lookups == ["media.test"]  # resolved once: nothing can rebind between check and use
    assert origin.seen == [("/a.png", f"media.test:{origin.port}")]


def test_a_name_that_resolves_to_loopback_needs_loopback_allow_listed(
    serve: Callable[..., Origin],
) -> None:
    origin = serve({"/a.png": Route()})
    resolver = Resolver(
        fetch=True,
        allow=HostAllowList(["media.test"]),
        lookup=staged({"media.test": ["127.0.0.1"]}),
    )
    error = code_of(resolver, origin.url("/a.png", host="media.test"))
    assert error.code == "fetch_refused" and "127.0.0.1" in error.message
    assert origin.seen == []


def test_a_redirect_is_refused_and_not_followed(serve: Callable[..., Origin]) -> None:
    origin = serve({"/old": Route(302, b"", {"Location": "http://169.254.169.254/latest/"})})
    error = code_of(Resolver(fetch=True, lookup=no_dns), origin.url("/old"))
    assert error.code == "fetch_refused"
    assert "302" in error.message and "http://169.254.169.254/latest/" in error.message
    assert [path for path, _ in origin.seen] == ["/old"]


def test_a_404_is_a_fetch_failure(serve: Callable[..., Origin]) -> None:
    origin = serve({})
    error = code_of(Resolver(fetch=True, lookup=no_dns), origin.url("/missing.wav"))
    assert error.code == "fetch_failed" and "404" in error.message


@pytest.mark.parametrize("length", [True, False], ids=["announced", "streamed"])
def test_a_body_over_the_limit_is_refused(serve: Callable[..., Origin], length: bool) -> None:
    origin = serve({"/big": Route(body=b"x" * 200_000, length=length)})
    resolver = Resolver(fetch=True, limits=Limits(max_file_bytes=50_000), lookup=no_dns)
    error = code_of(resolver, origin.url("/big"))
    assert error.code == "too_large"
    assert "48.8 KiB" in error.message
    assert ("195.3 KiB" in error.message) == length  # refused on the announced size
    with Resolver(fetch=True, lookup=no_dns).resolve(origin.url("/big")) as blob:
        assert blob.size == 200_000


def test_a_connection_that_fails_is_a_fetch_failure() -> None:
    url = f"http://127.0.0.1:{closed_port()}/a.png"
    error = code_of(Resolver(fetch=True, lookup=no_dns), url)
    assert error.code == "fetch_failed" and "connection failed" in error.message


def test_a_download_past_its_deadline_is_a_fetch_failure(serve: Callable[..., Origin]) -> None:
    origin = serve({"/a.png": Route()})
    resolver = Resolver(fetch=True, max_seconds=-1, lookup=no_dns)
    error = code_of(resolver, origin.url("/a.png"))
    assert error.code == "fetch_failed" and "too long" in error.message


def test_a_trickling_server_is_cut_off_at_the_deadline(serve: Callable[..., Origin]) -> None:
    origin = serve({"/slow": Route(body=b"x" * 100, length=False, trickle=40)})
    resolver = Resolver(fetch=True, max_seconds=0.3, lookup=no_dns)
    started = time.monotonic()
    error = code_of(resolver, origin.url("/slow"))
    assert error.code == "fetch_failed" and "too long" in error.message
    assert time.monotonic() - started < 1.2  # not after the whole 2 s body


def test_a_host_that_does_not_resolve_is_a_fetch_failure() -> None:
    def lookup(host: str, port: int) -> Sequence[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    resolver = Resolver(fetch=True, allow=HostAllowList(["*.test"]), lookup=lookup)
    error = code_of(resolver, "http://nowhere.test/a.png")
    assert error.code == "fetch_failed" and "could not be resolved" in error.message


EVERYTHING = ["0.0.0.0/0", "::/0", "metadata.google.internal", "metadata", "*.test"]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[fd00:ec2::254]/latest/", "metadata"),
        ("http://100.100.100.200/latest/", "metadata"),
        ("http://[::ffff:169.254.169.254]/", "metadata"),
        ("http://[64:ff9b::a9fe:a9fe]/", "metadata"),
        ("http://169.254.1.1/", "link-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata host"),
        ("http://metadata/computeMetadata/v1/", "metadata host"),
        ("http://0.0.0.0:8080/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://[ff02::1]/", "multicast"),
        ("http://240.0.0.1/", "reserved"),
        ("http://255.255.255.255/", "reserved"),
    ],
)
def test_dangerous_addresses_are_refused_even_when_allow_listed(
    url: str, why: str, no_connect: None
) -> None:
    resolver = Resolver(fetch=True, allow=HostAllowList(EVERYTHING), lookup=no_dns)
    error = code_of(resolver, url)
    assert error.code == "fetch_refused" and why in error.message


def test_private_addresses_are_refused_unless_their_network_is_listed(no_connect: None) -> None:
    resolver = Resolver(fetch=True, lookup=no_dns)  # loopback only
    error = code_of(resolver, "http://10.0.0.1/a.png")
    assert error.code == "fetch_refused" and "media fetch allow-list" in error.message
    dns = staged({"cdn.media.test": ["93.184.216.34", "10.0.0.1"]})
    resolver = Resolver(fetch=True, allow=HostAllowList(["*.media.test"]), lookup=dns)
    error = code_of(resolver, "http://cdn.media.test/a.png")
    assert error.code == "fetch_refused"
    assert "10.0.0.1" in error.message and "not in the allow-list" in error.message


@pytest.mark.parametrize(
    ("address", "allow", "ok"),
    [
        ("93.184.216.34", [], True),
        ("2606:2800:220:1::1", [], True),
        ("127.0.0.1", ["127.0.0.0/8"], True),
        ("127.0.0.1", ["media.test"], False),
        ("::1", ["::1"], True),
        ("::ffff:127.0.0.1", ["127.0.0.0/8"], True),
        ("10.1.2.3", ["10.0.0.0/8"], True),
        ("10.1.2.3", ["10.9.0.0/16"], False),
        ("192.168.1.1", [], False),
        ("100.64.0.1", [], False),
        ("fc00::1", [], False),
        ("169.254.169.254", ["169.254.0.0/16"], False),
        ("fe80::1", ["fe80::/10"], False),
        ("fd00:ec2::254", ["fd00::/8"], False),
        ("0.0.0.0", ["0.0.0.0/0"], False),
    ],
)
def test_address_problem(address: str, allow: list[str], ok: bool) -> None:
    problem = address_problem(ipaddress.ip_address(address), HostAllowList(allow))
    assert (problem is None) == ok, problem


# --------------------------------------------------------------------------- TLS


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        + ["-nodes", "-days", "1", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.mark.parametrize(("cert_name", "ok"), [("media.test", True), ("other.test", False)])
def test_https_checks_the_certificate_against_the_url_host(
    tmp_path: Path, serve: Callable[..., Origin], cert_name: str, ok: bool
) -> None:
    cert, key = _certificate(tmp_path, cert_name)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    origin = serve({"/a.png": Route()}, tls=server_tls)
    client_tls = ssl.create_default_context(cafile=str(cert))
    resolver = Resolver(
        fetch=True,
        allow=HostAllowList(["media.test", "127.0.0.0/8"]),
        lookup=staged({"media.test": ["127.0.0.1"]}),
        ssl_context=client_tls,
    )
    url = origin.url("/a.png", host="media.test")
    if ok:
        with resolver.resolve(url) as blob:
            assert blob.read_bytes() == PNG
        assert origin.seen == [("/a.png", f"media.test:{origin.port}")]
    else:
        error = code_of(resolver, url)
        assert error.code == "fetch_failed" and "CERTIFICATE" in error.message.upper()
