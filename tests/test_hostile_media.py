"""Hostile media against the vendor faces: archives that attack, and URLs that reach inward.

Archives (Hume takes ``.zip``/``.tar.*`` uploads and URLs, ``engine/archives.py``): a zip
bomb, overlapping entries, too many entries or bytes, zip slip (``..``, absolute, drive
letters), links and devices. Each is that source's ``error`` in Hume's predictions (reference
§7: a source that cannot be read), found within a bounded cost; other faces refuse archives
as the wrong kind of file. URLs (SSRF): media URLs (Hume ``urls``, Eden AI ``file_url``) and
webhooks (Hume ``callback_url``, Eden AI ``webhook_receiver``) never reach link-local, metadata,
private, unspecified or oddly spelled addresses; loopback is allowed (the documented policy:
``--media-allow`` and ``--webhook-allow`` default to loopback); redirects are never followed,
so an allowed host cannot bounce the server elsewhere. Every server here binds 127.0.0.1.
"""

from __future__ import annotations

import io
import json
import os
import socket
import stat
import struct
import tarfile
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockserver.engine import archives
from mockserver.engine.egress import UrllibClient
from mockserver.engine.media import Blob, Limits, MediaError
from mockserver.providers.hume import sources as hume_sources
from mockserver.providers.hume.artifacts import crop_path
from tests.conftest import RecordingClient
from tests.eden_helpers import FakeBuilders, fake_builders
from tests.hume_helpers import archive
from tests.receiver import QuietServer, Receiver, Reply, ServerPool, serving
from tests.samples import silent_wav
from tests.test_hostile import NOWHERE, STT, auth, body_of, build_app, refusal, says

MiB = 1 << 20


@pytest.fixture(scope="module", autouse=True)
def fake_eden() -> Iterator[FakeBuilders]:
    with fake_builders() as fakes:
        yield fakes


@pytest.fixture(scope="module")
def app() -> Iterator[Flask]:
    app = build_app()
    yield app
    app.extensions["mockserver"].close()


@pytest.fixture
def web(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything resolves a name or opens a connection."""

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket, "create_connection", forbidden)
    monkeypatch.setattr(socket, "getaddrinfo", forbidden)


def settle(app: Flask) -> None:
    app.extensions["mockserver"].scheduler.run_due()


def hume_upload(web: FlaskClient, data: bytes, name: str) -> str:
    # Encoded here: the test client spools bodies over 500 KB to a temporary file it never
    # closes (a ResourceWarning at some later garbage collection).
    head = f'--hostile\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n\r\n'
    response = web.post(
        "/v0/batch/jobs",
        data=head.encode() + data + b"\r\n--hostile--\r\n",
        headers=auth("hume"),
        content_type="multipart/form-data; boundary=hostile",
    )
    assert response.status_code == 200, response.get_json()
    return str(response.get_json()["job_id"])


def source_errors(app: Flask, web: FlaskClient, job_id: str) -> list[str]:
    """Each source's error (a source-level ``error`` or its per-file ones), once it ran."""
    settle(app)
    details = web.get(f"/v0/batch/jobs/{job_id}", headers=auth("hume")).get_json()
    assert details["state"]["status"] == "COMPLETED", details["state"]
    response = web.get(f"/v0/batch/jobs/{job_id}/predictions", headers=auth("hume"))
    assert response.status_code == 200, response.get_json()
    out = []
    for source in response.get_json():
        if "error" in source:
            out.append(source["error"])
        else:
            out.extend(e["message"] for e in source["results"]["errors"])
    return out


# --- archives ----------------------------------------------------------------------------------


def zip_of(*entries: tuple[zipfile.ZipInfo | str, bytes], stored: bool = False) -> bytes:
    out = io.BytesIO()
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(out, "w", method) as zf:
        for info, data in entries:
            zf.writestr(info, data)
    return out.getvalue()


def special(name: str, mode: int) -> zipfile.ZipInfo:
    """A zip entry whose Unix mode (``external_attr``) says link, FIFO, device..."""
    info = zipfile.ZipInfo(name)
    info.external_attr = (mode | 0o777) << 16
    info.create_system = 3  # Unix
    return info


def overlapping_zip(copies: int, data: bytes) -> bytes:
    """One stored entry listed ``copies`` times in the central directory, every record
    pointing at the same bytes: each entry is small and honest, the archive as a whole is a
    bomb (the "overlapping files" construction)."""
    plain = zip_of(("clip.wav", data), stored=True)
    end = plain.rindex(b"PK\x05\x06")
    entries, cd_size, cd_offset = struct.unpack("<10xHLL", plain[end : end + 20])
    assert entries == 1
    directory = plain[cd_offset : cd_offset + cd_size] * copies
    tail = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, copies, copies, len(directory), cd_offset, 0
    )
    return plain[:cd_offset] + directory + tail


def tar_of(kind: str, *members: tarfile.TarInfo) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz" if kind == "tar.gz" else "w") as tf:
        for info in members:
            tf.addfile(info, io.BytesIO(b"x" * info.size) if info.isreg() else None)
    return out.getvalue()


def tar_member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "", size: int = 1) -> Any:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = size if kind == tarfile.REGTYPE else 0
    return info


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    return {
        "zip bomb": zip_of(("bomb.wav", bytes(16 * MiB))),
        "tar.gz bomb": archive("tar.gz", [("bomb.wav", bytes(16 * MiB))]),
        "overlapping entries": overlapping_zip(3000, os.urandom(64 << 10)),
        "nested bomb": zip_of(("inner.zip", zip_of(("bomb.wav", bytes(16 * MiB))))),
    }


@pytest.mark.parametrize("case", ["zip bomb", "tar.gz bomb", "overlapping entries", "nested bomb"])
def test_decompression_bombs_are_a_source_error_found_cheaply(
    app: Flask, web: FlaskClient, bombs: dict[str, bytes], case: str
) -> None:
    started = time.monotonic()
    job = hume_upload(web, bombs[case], f"{case.replace(' ', '_')}.zip")
    errors = source_errors(app, web, job)
    assert time.monotonic() - started < 5
    if case == "nested bomb":  # an inner archive is a member, never opened: no file to read
        assert errors and all("bomb" not in e or "expands" not in e for e in errors)
        return
    assert len(errors) == 1
    says(errors[0], "archive")
    assert "decompression bombs" in errors[0] or "could not be read" in errors[0]


def test_members_past_the_memory_budget_spill_to_disk(
    bombs: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archives, "MEMORY_BYTES", 4 * MiB)
    blob = Blob.from_bytes(bombs["overlapping entries"], name="o.zip")
    tracemalloc.start()
    try:
        with pytest.raises(MediaError) as refused:
            archives.expand(blob, name="o.zip", limits=Limits())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused.value.code == "compression_ratio"
    assert peak < 12 * MiB, f"{peak / MiB:.0f} MiB held while expanding"


def test_too_many_entries_or_bytes_are_source_errors(
    app: Flask, web: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    tight = Limits(max_entries=5, max_total_bytes=2 * MiB, ratio_floor=1 * MiB)
    monkeypatch.setattr(hume_sources, "LIMITS", tight)
    many = zip_of(*((f"t{n}.txt", b"hi") for n in range(6)))
    says(source_errors(app, web, hume_upload(web, many, "many.zip"))[0], "more than 5 entries")
    big = zip_of(*((f"r{n}.bin", os.urandom(MiB)) for n in range(3)))  # incompressible
    says(source_errors(app, web, hume_upload(web, big, "big.zip"))[0], "expands to more than")


SLIPS = {
    "parent": ("../evil.txt", "uses '..'"),
    "deep parent": ("a/b/../../../evil.txt", "uses '..'"),
    "absolute": ("/etc/cron.d/evil", "absolute path"),
    "drive letter": ("C:\\Windows\\evil.txt", "drive letter"),
    "backslash parent": ("..\\..\\evil.txt", "uses '..'"),
    "control characters": ("a\x1b[2Jb.txt", "control characters"),
}


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
@pytest.mark.parametrize("case", list(SLIPS))
def test_zip_slip_names_are_refused(app: Flask, web: FlaskClient, case: str, kind: str) -> None:
    name, words = SLIPS[case]
    data = archive(kind, [("ok.txt", b"fine"), (name, b"owned")])
    errors = source_errors(app, web, hume_upload(web, data, f"slip.{kind}"))
    assert len(errors) == 1
    says(errors[0], "entries must be relative paths", words)


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        (special("link.wav", stat.S_IFLNK), "symbolic link"),
        (special("fifo.wav", stat.S_IFIFO), "device, FIFO or socket"),
        (special("dev.wav", stat.S_IFCHR), "device, FIFO or socket"),
        (special("sock.wav", stat.S_IFSOCK), "device, FIFO or socket"),
    ],
)
def test_links_and_devices_in_a_zip_are_refused(
    app: Flask, web: FlaskClient, entry: zipfile.ZipInfo, words: str
) -> None:
    data = zip_of(("ok.txt", b"fine"), (entry, b"/etc/passwd"))
    errors = source_errors(app, web, hume_upload(web, data, "links.zip"))
    says(errors[0], "only regular files and folders are accepted", words)


@pytest.mark.parametrize(
    ("member", "words"),
    [
        (tar_member("link.wav", tarfile.SYMTYPE, "/etc/passwd"), "symbolic link to '/etc/passwd'"),
        (tar_member("hard.wav", tarfile.LNKTYPE, "../../etc/passwd"), "hard link"),
        (tar_member("dev.wav", tarfile.CHRTYPE), "device or FIFO"),
        (tar_member("fifo.wav", tarfile.FIFOTYPE), "device or FIFO"),
    ],
)
def test_links_and_devices_in_a_tar_are_refused(
    app: Flask, web: FlaskClient, member: tarfile.TarInfo, words: str
) -> None:
    data = tar_of("tar.gz", tar_member("ok.txt"), member)
    errors = source_errors(app, web, hume_upload(web, data, "links.tar.gz"))
    says(errors[0], words)


def test_a_corrupt_or_encrypted_archive_is_a_source_error(app: Flask, web: FlaskClient) -> None:
    good = zip_of(("a.txt", b"hello" * 100))
    corrupt = good[:30] + b"\x00" * 40 + good[70:]
    encrypted = bytearray(good)
    encrypted[6] |= 1  # the local header's "encrypted" flag
    at = bytes(encrypted).rindex(b"PK\x01\x02")
    encrypted[at + 8] |= 1  # and the central directory's
    for data in (corrupt, bytes(encrypted), good[: len(good) // 2]):
        errors = source_errors(app, web, hume_upload(web, data, "broken.zip"))
        assert len(errors) == 1 and ("could not be read" in errors[0] or "no files" in errors[0])


def test_an_archive_behind_a_media_url_gets_the_same_checks(
    tmp_path: Path, bombs: dict[str, bytes]
) -> None:
    (tmp_path / "bomb.zip").write_bytes(bombs["zip bomb"])
    (tmp_path / "slip.zip").write_bytes(archive("zip", [("../x.txt", b"x")]))
    app = build_app(media_dir=str(tmp_path))
    try:
        web = app.test_client()
        body = {"urls": ["https://cdn.test/bomb.zip", "https://cdn.test/slip.zip"]}
        job = web.post("/v0/batch/jobs", json=body, headers=auth("hume")).get_json()["job_id"]
        bomb, slip = source_errors(app, web, job)
        says(bomb, "decompression bombs")
        says(slip, "uses '..'")
    finally:
        app.extensions["mockserver"].close()


def test_other_faces_refuse_archives_as_the_wrong_kind_of_file(
    web: FlaskClient, bombs: dict[str, bytes]
) -> None:
    response = web.post(
        f"{STT}/",
        data={"providers": "amazon", "file": (io.BytesIO(bombs["zip bomb"]), "a.wav")},
        headers=auth("eden"),
        content_type="multipart/form-data",
    )
    errors = refusal("eden", response, 400)
    says(errors, "file", "Unsupported file type 'application/zip'")
    upload = web.post(
        "/v1/files",
        data={"file": (io.BytesIO(bombs["zip bomb"]), "in.jsonl")},
        headers=auth("xai"),
        content_type="multipart/form-data",
    )
    batch = web.post(
        "/v1/batches",
        json={"name": "z", "input_file_id": body_of(upload)["id"]},
        headers=auth("xai"),
    )
    assert batch.status_code == 200  # never decompressed: a file that is not JSONL (§10)
    says(body_of(batch)["cancel_by_xai_message"], "JSONL file validation failed")


@pytest.mark.parametrize(
    "file", ["../../etc/cron.d/x.png", "/abs/x.png", "C:\\x\\..\\..\\y.png", "a/./../b\x00.png"]
)
def test_artifact_paths_built_from_hostile_names_stay_inside(file: str) -> None:
    path = crop_path(0, file, 3, "face_0")
    parts = path.split("/")
    assert path.startswith("faces/0/") and ".." not in parts and "" not in parts
    assert "\\" not in path and "\x00" not in path


# --- media URLs: SSRF --------------------------------------------------------------------------

#: Addresses and spellings no media fetch or webhook may reach, with fetching on and the
#: default (loopback) allow-lists.
FORBIDDEN = [
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.169.254:80/computeMetadata/v1/",
    "https://169.254.169.254/",
    "http://100.100.100.200/latest/meta-data/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://metadata/computeMetadata/v1/",
    "http://10.0.0.1/x-ssrf.wav",
    "http://172.16.0.1/x-ssrf.wav",
    "http://172.31.255.254/x-ssrf.wav",
    "http://192.168.1.1/x-ssrf.wav",
    "http://[fd12:3456::1]/x-ssrf.wav",
    "http://[fe80::1]/x-ssrf.wav",
    "http://[fe80::1%25eth0]/x-ssrf.wav",
    "http://[::ffff:169.254.169.254]/x-ssrf.wav",
    "http://[::ffff:a9fe:a9fe]/x-ssrf.wav",
    "http://[::ffff:10.0.0.1]/x-ssrf.wav",
    "http://[64:ff9b::a9fe:a9fe]/x-ssrf.wav",
    "http://2130706433/x-ssrf.wav",
    "http://2852039166/x-ssrf.wav",
    "http://0x7f000001/x-ssrf.wav",
    "http://0xa9fea9fe/x-ssrf.wav",
    "http://0177.0.0.1/x-ssrf.wav",
    "http://0251.0376.0251.0376/x-ssrf.wav",
    "http://127.1/x-ssrf.wav",
    "http://0/x-ssrf.wav",
    "http://0.0.0.0/x-ssrf.wav",
    "http://0.0.0.0:8000/x-ssrf.wav",
    "http://[::]/x-ssrf.wav",
    "http://169.254.169.254.nip.io/x-ssrf.wav",
    "http://localhost@169.254.169.254/x-ssrf.wav",
    "http://127.0.0.1:80\\@169.254.169.254/x-ssrf.wav",
    "http://169.254.169.254#@127.0.0.1/x-ssrf.wav",
]


@pytest.fixture(scope="module")
def fetching() -> Iterator[Flask]:
    app = build_app(media_fetch="on")
    yield app
    app.extensions["mockserver"].close()


@pytest.mark.parametrize("fetch", ["off", "on"])
def test_forbidden_media_urls_are_never_contacted(
    app: Flask, fetching: Flask, no_network: None, fetch: str
) -> None:
    target = fetching if fetch == "on" else app
    web = target.test_client()
    expected = "Refusing to fetch" if fetch == "on" else "makes no network calls"
    job = web.post("/v0/batch/jobs", json={"urls": FORBIDDEN}, headers=auth("hume"))
    assert job.status_code == 200, job.get_json()  # Hume takes any URL; the source fails
    errors = source_errors(target, web, job.get_json()["job_id"])
    for url, error in zip(FORBIDDEN, errors, strict=True):
        assert error.startswith(expected) or expected in error, (url, error)
    for url in FORBIDDEN:  # Eden AI downloads at launch: a field error of file_url (§7)
        body = {"providers": "amazon", "language": "en", "file_url": url}
        response = web.post(f"{STT}/", json=body, headers=auth("eden"))
        errors_by_field = json.loads(refusal("eden", response, 400))
        assert list(errors_by_field) == ["file_url"], (url, errors_by_field)
        assert expected in errors_by_field["file_url"][0], url


def test_a_url_path_the_file_system_refuses_is_a_miss_not_a_crash(
    app: Flask, web: FlaskClient
) -> None:
    urls = [
        "https://example.com/" + "a" * 300 + ".wav",
        "https://" + "b" * 250 + ".example/" + "c" * 300 + "/x.wav",
        "https://example.com/a**b.wav",
        "https://example.com/[!a]x.wav",
        "https://[::1/x.wav",
    ]
    job = web.post("/v0/batch/jobs", json={"urls": urls}, headers=auth("hume"))
    assert job.status_code == 200, job.get_json()
    errors = source_errors(app, web, job.get_json()["job_id"])
    assert len(errors) == len(urls) and all("No media" in e or "valid URL" in e for e in errors)
    for url in urls:
        body = {"providers": "amazon", "language": "en", "file_url": url}
        refusal("eden", web.post(f"{STT}/", json=body, headers=auth("eden")), 400)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dataset_name", "d" * 5000),
        ("dataset_name", "x/" * 3000 + "x"),
        ("dataset_name", "a\x00b"),
        ("dataset_config", "c" * 5000),
        ("dataset_split", "s" * 5000),
    ],
)
def test_a_dataset_name_the_file_system_refuses_is_unknown(
    web: FlaskClient, field: str, value: str
) -> None:
    body = {"dataset_name": "ApiInferenceTest/asr_dummy", field: value}
    response = web.post("/bulk/run/cpu/facebook/wav2vec2-base-960h", json=body, headers=auth("hf"))
    says(refusal("hf", response, 404), "not found" if field != "dataset_name" else "does not exist")


class Origin:
    """GET routes on 127.0.0.1 recording each path asked for."""

    def __init__(self, routes: dict[str, tuple[int, dict[str, str], bytes]]) -> None:
        self.routes = routes
        self.seen: list[str] = []
        self.port = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _origin_handler(origin: Origin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            origin.seen.append(self.path)
            status, headers, body = origin.routes.get(self.path, (404, {}, b"no"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def origins() -> Iterator[Callable[[dict[str, tuple[int, dict[str, str], bytes]]], Origin]]:
    pool = ServerPool()

    def start(routes: dict[str, tuple[int, dict[str, str], bytes]]) -> Origin:
        origin = Origin(routes)
        origin.port = pool.start(QuietServer(("127.0.0.1", 0), _origin_handler(origin)))
        return origin

    yield start
    pool.close()


def test_redirects_from_an_allowed_host_are_never_followed(
    fetching: Flask, origins: Callable[..., Origin]
) -> None:
    inner = origins({"/secret.wav": (200, {}, silent_wav())})
    outer = origins(
        {
            "/ok.wav": (200, {"Content-Type": "audio/wav"}, silent_wav()),
            "/to-metadata.wav": (302, {"Location": "http://169.254.169.254/latest/"}, b""),
            "/to-private.wav": (301, {"Location": "http://10.0.0.1/x.wav"}, b""),
            "/to-loopback.wav": (307, {"Location": inner.url("/secret.wav")}, b""),
            "/to-file.wav": (302, {"Location": "file:///etc/passwd"}, b""),
        }
    )
    web = fetching.test_client()
    redirects = ["/to-metadata.wav", "/to-private.wav", "/to-loopback.wav", "/to-file.wav"]
    for path in redirects:
        body = {"providers": "amazon", "language": "en", "file_url": outer.url(path)}
        response = web.post(f"{STT}/", json=body, headers=auth("eden"))
        says(refusal("eden", response, 400), "redirects", "never followed")
    job = web.post(
        "/v0/batch/jobs", json={"urls": [outer.url(p) for p in redirects]}, headers=auth("hume")
    ).get_json()["job_id"]
    assert all("never followed" in e for e in source_errors(fetching, web, job))
    assert inner.seen == []  # the redirect target was never contacted
    # Loopback itself is allowed (the default allow-list): the policy, not a blanket refusal.
    body = {"providers": "amazon", "language": "en", "file_url": outer.url("/ok.wav")}
    assert web.post(f"{STT}/", json=body, headers=auth("eden")).status_code == 200


def test_urls_no_face_fetches_are_left_alone(web: FlaskClient, no_network: None) -> None:
    ask = {
        "model": "grok-3-mini",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": FORBIDDEN[0]}},
                ],
            }
        ],
    }
    batch = body_of(web.post("/v1/batches", json={"name": "ssrf"}, headers=auth("xai")))["batch_id"]
    item = {"batch_request_id": "img", "batch_request": {"chat_get_completion": ask}}
    added = web.post(
        f"/v1/batches/{batch}/requests", json={"batch_requests": [item]}, headers=auth("xai")
    )
    assert added.status_code == 200, added.get_json()
    results = web.get(f"/v1/batches/{batch}/results", headers=auth("xai"))
    assert (
        results.status_code == 200 and body_of(results)["results"][0]["batch_request_id"] == "img"
    )
    dataset = {"dataset_name": "http://169.254.169.254/latest", "dataset_config": "x"}
    response = web.post(
        "/bulk/run/cpu/facebook/wav2vec2-base-960h", json=dataset, headers=auth("hf")
    )
    says(refusal("hf", response, 404), "does not exist")


# --- webhooks: SSRF ----------------------------------------------------------------------------


def deliveries(web: FlaskClient, job_id: str) -> list[dict[str, Any]]:
    found = web.get("/_mock/webhooks", query_string={"job_id": job_id}).get_json()["deliveries"]
    return list(found)


def test_forbidden_webhook_urls_are_blocked_and_never_contacted(fake_eden: FakeBuilders) -> None:
    client = RecordingClient()
    app = build_app(http_client=client)
    try:
        web = app.test_client()
        jobs: list[tuple[str, str]] = []
        for url in FORBIDDEN:
            hume = web.post(
                "/v0/batch/jobs",
                json={"urls": [NOWHERE], "callback_url": url},
                headers=auth("hume"),
            )
            assert hume.status_code == 200, (url, hume.get_json())  # as Hume: any URL is taken
            jobs.append((url, hume.get_json()["job_id"]))
            body = {
                "providers": "amazon",
                "language": "en",
                "file_url": "https://example.com/happy.wav",
                "webhook_receiver": url,
            }
            eden = web.post(f"{STT}/", json=body, headers=auth("eden"))
            if eden.status_code == 400:  # DRF's URLField refuses some spellings outright
                says(refusal("eden", eden, 400), "webhook_receiver", "Enter a valid URL")
            else:
                assert eden.status_code == 200, (url, eden.get_json())
                jobs.append((url, eden.get_json()["public_id"]))
        settle(app)
        assert client.calls == []
        for url, job in jobs:
            [delivery] = deliveries(web, job)
            assert delivery["status"] == "blocked", (url, delivery)
            says(delivery["attempts"][0]["error"], "blocked")
    finally:
        app.extensions["mockserver"].close()


@pytest.fixture
def serve() -> Iterator[Callable[..., Receiver]]:
    yield from serving()


def test_a_webhook_redirect_is_not_followed(
    serve: Callable[..., Receiver], fake_eden: FakeBuilders
) -> None:
    target = serve()
    bouncer = serve(
        Reply(302, {"Location": target.url}),
        Reply(307, {"Location": "http://169.254.169.254/latest/"}),
    )
    app = build_app(http_client=UrllibClient())
    try:
        web = app.test_client()
        hume = web.post(
            "/v0/batch/jobs",
            json={"urls": [NOWHERE], "callback_url": bouncer.url},
            headers=auth("hume"),
        ).get_json()["job_id"]
        body = {
            "providers": "amazon",
            "language": "en",
            "file_url": "https://example.com/happy.wav",
            "webhook_receiver": bouncer.url,
        }
        eden = web.post(f"{STT}/", json=body, headers=auth("eden")).get_json()["public_id"]
        settle(app)
        assert len(bouncer.requests) == 2 and target.requests == []
        for job in (hume, eden):
            [delivery] = deliveries(web, job)
            attempt = delivery["attempts"][0]
            assert delivery["status"] != "delivered"
            assert attempt["status_code"] in (302, 307)
            says(attempt["error"], "redirects are not followed")
    finally:
        app.extensions["mockserver"].close()


def test_the_loopback_webhook_policy_is_respected(
    serve: Callable[..., Receiver], fake_eden: FakeBuilders
) -> None:
    receiver = serve()
    app = build_app(http_client=UrllibClient())
    try:
        web = app.test_client()
        for url in (receiver.url, receiver.url.replace("127.0.0.1", "localhost")):
            job = web.post(
                "/v0/batch/jobs",
                json={"urls": [NOWHERE], "callback_url": url},
                headers=auth("hume"),
            ).get_json()["job_id"]
            settle(app)
            [delivery] = deliveries(web, job)
            assert delivery["status"] == "delivered", delivery
        assert len(receiver.requests) == 2
    finally:
        app.extensions["mockserver"].close()
