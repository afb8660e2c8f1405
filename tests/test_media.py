"""Blobs, bounded stream copies and content sniffing, on bytes generated here."""

from __future__ import annotations

import gc
import hashlib
import io
import os
import tarfile
import tempfile
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mockserver.engine.media import (
    ERROR_CODES,
    SNIFF_BYTES,
    Blob,
    Limits,
    MediaError,
    category,
    human_bytes,
    read_stream,
    sniff,
)
from tests.samples import silent_wav


class Endless:
    """A stream that produces ``total`` bytes (or forever) and counts what was taken."""

    def __init__(self, total: int | None = None, byte: bytes = b"x") -> None:
        self.total = total
        self.taken = 0
        self.block = byte * (1 << 16)

    def read(self, size: int = -1, /) -> bytes:
        size = len(self.block) if size < 0 else min(size, len(self.block))
        if self.total is not None:
            size = min(size, self.total - self.taken)
        self.taken += size
        return self.block[:size]


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Send temporary files to an empty folder, so a test can see what was left behind."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    yield tmp_path


def wav_bytes() -> bytes:
    return silent_wav(16_000, 1600)


# --------------------------------------------------------------------------- errors, limits


def test_media_error_carries_code_message_and_name() -> None:
    error = MediaError("too_large", "'a.wav' is too large.", name="a.wav")
    assert (error.code, error.message, error.name, str(error)) == (
        "too_large",
        "'a.wav' is too large.",
        "a.wav",
        "'a.wav' is too large.",
    )
    assert "too_large" in repr(error)
    assert "fetch_refused" in ERROR_CODES and len(ERROR_CODES) == 11
    with pytest.raises(ValueError, match="unknown media error code"):
        MediaError("oops", "x")  # type: ignore[arg-type]


def test_limits_defaults_follow_hume_and_reject_nonsense() -> None:
    limits = Limits()
    assert limits.max_file_bytes == 1 << 30
    assert limits.max_entries == 10_000
    assert limits.max_total_bytes == 4 << 30
    assert limits.max_ratio == 200.0
    assert limits.spool_bytes == 8 << 20
    for bad in ({"max_file_bytes": 0}, {"max_entries": -1}, {"max_ratio": 0}, {"spool_bytes": -1}):
        with pytest.raises(ValueError):
            Limits(**bad)


@pytest.mark.parametrize(
    ("count", "text"),
    [(0, "0 bytes"), (300, "300 bytes"), (1536, "1.5 KiB"), (8 << 20, "8 MiB"), (1 << 30, "1 GiB")],
)
def test_human_bytes(count: int, text: str) -> None:
    assert human_bytes(count) == text


# --------------------------------------------------------------------------- blobs


def test_blob_from_bytes_hashes_sniffs_and_gives_fresh_readers() -> None:
    data = wav_bytes()
    with Blob.from_bytes(data, name="clip.bin") as blob:
        assert blob.size == len(data)
        assert blob.md5 == hashlib.md5(data).hexdigest()
        assert (blob.media_type, blob.category, blob.name) == ("audio/wav", "audio", "clip.bin")
        assert blob.in_memory
        with blob.open() as first, blob.open() as second:
            assert first.read(4) == b"RIFF"
            assert second.read() == data  # independent position
        assert blob.read_bytes() == data
    with pytest.raises(ValueError, match="closed"):
        blob.open()
    blob.close()  # twice is harmless


def test_read_stream_keeps_small_content_in_memory(temp_dir: Path) -> None:
    blob = read_stream(io.BytesIO(b"hello world\n"), name="a.txt", limits=Limits())
    assert blob.in_memory and blob.read_bytes() == b"hello world\n"
    assert blob.media_type == "text/plain"
    assert list(temp_dir.iterdir()) == []
    blob.close()


def test_read_stream_spools_large_content_to_a_file_removed_on_close(temp_dir: Path) -> None:
    data = os.urandom(300_000)
    blob = read_stream(io.BytesIO(data), name="big", limits=Limits(spool_bytes=100_000))
    assert not blob.in_memory
    assert blob.size == len(data) and blob.md5 == hashlib.md5(data).hexdigest()
    with blob.open() as reader:
        path = Path(reader.name)
        assert path.parent == temp_dir
        assert reader.read() == data
    assert blob.read_bytes() == data
    assert blob.head == data[:SNIFF_BYTES]
    blob.close()
    assert not path.exists()


def test_an_unclosed_spooled_blob_is_removed_when_collected(temp_dir: Path) -> None:
    blob = read_stream(Endless(50_000), name="big", limits=Limits(spool_bytes=10))
    assert len(list(temp_dir.iterdir())) == 1
    del blob
    gc.collect()
    assert list(temp_dir.iterdir()) == []


def test_read_stream_refuses_at_the_limit_without_reading_on(temp_dir: Path) -> None:
    stream = Endless()  # never ends: only the limit can stop the copy
    limits = Limits(max_file_bytes=100_000, spool_bytes=10_000)
    with pytest.raises(MediaError) as caught:
        read_stream(stream, name="upload.wav", limits=limits)
    assert caught.value.code == "too_large"
    assert caught.value.name == "upload.wav"
    assert "'upload.wav'" in caught.value.message and "97.7 KiB" in caught.value.message
    assert stream.taken <= 100_001
    assert list(temp_dir.iterdir()) == []  # the spilled part is gone


def test_read_stream_accepts_exactly_the_limit() -> None:
    with read_stream(Endless(100_000), name="x", limits=Limits(max_file_bytes=100_000)) as blob:
        assert blob.size == 100_000


def test_read_stream_cleans_up_when_the_source_fails(temp_dir: Path) -> None:
    class Broken(Endless):
        def read(self, size: int = -1, /) -> bytes:
            if self.taken > 50_000:
                raise OSError("connection reset")
            return super().read(size)

    with pytest.raises(OSError, match="connection reset"):
        read_stream(Broken(), name="x", limits=Limits(spool_bytes=1000))
    assert list(temp_dir.iterdir()) == []


def test_read_stream_memory_stays_flat_for_a_large_stream(temp_dir: Path) -> None:
    total = 50 * 1024 * 1024
    expected = hashlib.md5()
    block = b"x" * (1 << 16)
    for _ in range(total // len(block)):
        expected.update(block)
    tracemalloc.start()
    try:
        blob = read_stream(Endless(total), name="big", limits=Limits(spool_bytes=1 << 20))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    with blob:
        assert blob.size == total and blob.md5 == expected.hexdigest()
        assert not blob.in_memory
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes for a {total}-byte stream"


# --------------------------------------------------------------------------- sniffing


def _tar_bytes() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo("a.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    return out.getvalue()


def _zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.txt", "hi")
    return out.getvalue()


def _bmff(brand: bytes) -> bytes:
    return b"\x00\x00\x00\x18ftyp" + brand + b"\x00\x00\x02\x00isommp41"


HEADS = {
    "png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
    "jpeg": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
    "gif87": (b"GIF87a\x01\x00\x01\x00", "image/gif"),
    "gif89": (b"GIF89a\x01\x00\x01\x00", "image/gif"),
    "webp": (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
    "bmp": (b"BM\x3a\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00", "image/bmp"),
    "wav": (b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav"),
    "avi": (b"RIFF\x24\x00\x00\x00AVI LIST", "video/x-msvideo"),
    "flac": (b"fLaC\x00\x00\x00\x22", "audio/flac"),
    "id3": (b"ID3\x04\x00\x00\x00\x00\x00\x23", "audio/mpeg"),
    "mp3 frame": (b"\xff\xfb\x90\x64\x00\x00", "audio/mpeg"),
    "mpeg2 frame": (b"\xff\xf3\x48\xc4\x00", "audio/mpeg"),
    "adts": (b"\xff\xf1\x4c\x40\x03\x9f\xfc", "audio/aac"),
    "ogg": (b"OggS\x00\x02" + b"\x00" * 22 + b"\x01\x13OpusHead", "audio/ogg"),
    "theora": (b"OggS\x00\x02" + b"\x00" * 22 + b"\x80theora\x03\x02", "video/ogg"),
    "mp4": (_bmff(b"isom"), "video/mp4"),
    "m4a": (_bmff(b"M4A "), "audio/mp4"),
    "m4b": (_bmff(b"M4B "), "audio/mp4"),
    "mov": (_bmff(b"qt  "), "video/quicktime"),
    "old mov": (b"\x00\x00\x00\x08wide\x00\x10\x00\x00mdat", "video/quicktime"),
    "avif": (_bmff(b"avif"), "image/avif"),
    "webm": (
        b"\x1aE\xdf\xa3\x9fB\x86\x81\x01B\xf7\x81\x01B\xf2\x81\x04B\xf3\x81\x08B\x82\x84webm",
        "video/webm",
    ),
    "mkv": (
        b"\x1aE\xdf\xa3\xa3B\x86\x81\x01B\xf7\x81\x01B\xf2\x81\x04B\xf3\x81\x08B\x82\x88matroska",
        "video/x-matroska",
    ),
    "zip": (b"PK\x03\x04\x14\x00\x00\x00", "application/zip"),
    "empty zip": (b"PK\x05\x06" + b"\x00" * 18, "application/zip"),
    "gzip": (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "application/gzip"),
    "bzip2": (b"BZh91AY&SY\x00", "application/x-bzip2"),
    "empty bzip2": (b"BZh9\x17rE8P\x90\x00\x00\x00\x00", "application/x-bzip2"),
    "xz": (b"\xfd7zXZ\x00\x00\x04", "application/x-xz"),
    "pdf": (b"%PDF-1.7\n%\xe2\xe3", "application/pdf"),
    "text": (b"hello, world\n", "text/plain"),
    "utf8 text": ("Grüße, 世界\n".encode(), "text/plain"),
    "bom text": (b"\xef\xbb\xbfhello", "text/plain"),
    "empty": (b"", "application/octet-stream"),
    "nul": (b"hello\x00world", "application/octet-stream"),
    "latin-1": ("café".encode("latin-1"), "application/octet-stream"),
    "controls": (bytes(range(1, 32)) * 4, "application/octet-stream"),
    "BM text": (b"BMW makes cars\n", "text/plain"),
    "bad frame": (b"\xff\xfb\xf0\x64", "application/octet-stream"),
    "BZh text": (b"BZh is not bzip", "text/plain"),
    "random": (bytes.fromhex("8f3c11d2a7b4e5f60718293a4b5c6d7e"), "application/octet-stream"),
}


@pytest.mark.parametrize("label", list(HEADS))
def test_sniff_reads_magic_bytes(label: str) -> None:
    head, media_type = HEADS[label]
    assert sniff(head) == media_type


def test_sniff_finds_tar_by_ustar_and_zip_by_signature() -> None:
    assert sniff(_tar_bytes()[:SNIFF_BYTES]) == "application/x-tar"
    assert sniff(_zip_bytes()) == "application/zip"


def test_sniff_never_trusts_the_name() -> None:
    with Blob.from_bytes(_zip_bytes(), name="innocent.wav") as blob:
        assert (blob.media_type, blob.category) == ("application/zip", "archive")
    with Blob.from_bytes(wav_bytes(), name="notes.txt") as blob:
        assert blob.media_type == "audio/wav"


def test_sniff_accepts_a_character_cut_at_the_end_of_the_head() -> None:
    data = b"a" + ("é" * 3000).encode()
    assert sniff(data[:SNIFF_BYTES]) == "text/plain"  # ends with half a character
    assert sniff(data[:12]) == "application/octet-stream"  # a whole (short) file cannot
    assert sniff(data[:10] + b"\xff" + data[10:SNIFF_BYTES]) == "application/octet-stream"


@pytest.mark.parametrize(
    ("media_type", "family"),
    [
        ("image/png", "image"),
        ("audio/wav", "audio"),
        ("video/webm", "video"),
        ("text/plain", "text"),
        ("application/zip", "archive"),
        ("application/gzip", "archive"),
        ("application/x-bzip2", "archive"),
        ("application/x-xz", "archive"),
        ("application/x-tar", "archive"),
        ("application/pdf", "document"),
        ("application/octet-stream", "unknown"),
    ],
)
def test_category(media_type: str, family: str) -> None:
    assert category(media_type) == family


# Real files, encoded here with the libraries the inference code uses.


def _audio(fmt: str, codec: str, options: dict[str, str] | None = None) -> bytes:
    av = pytest.importorskip("av")
    np = pytest.importorskip("numpy")
    out = io.BytesIO()
    with av.open(out, "w", format=fmt, options=options or {}) as container:
        stream = container.add_stream(codec, rate=48000)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 4800), dtype=np.int16), format="s16", layout="mono"
        )
        frame.sample_rate = 48000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return out.getvalue()


def _video(fmt: str, codec: str) -> bytes:
    av = pytest.importorskip("av")
    np = pytest.importorskip("numpy")
    out = io.BytesIO()
    with av.open(out, "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=10)
        stream.width = stream.height = 32
        stream.pix_fmt = "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return out.getvalue()


ENCODED: dict[str, tuple[Callable[[], bytes], str]] = {
    "wav": (lambda: _audio("wav", "pcm_s16le"), "audio/wav"),
    "flac": (lambda: _audio("flac", "flac"), "audio/flac"),
    "mp3 with ID3": (lambda: _audio("mp3", "libmp3lame"), "audio/mpeg"),
    "mp3 bare": (lambda: _audio("mp3", "libmp3lame", {"id3v2_version": "0"}), "audio/mpeg"),
    "opus in ogg": (lambda: _audio("ogg", "libopus"), "audio/ogg"),
    "m4a": (lambda: _audio("ipod", "aac"), "audio/mp4"),
    "adts": (lambda: _audio("adts", "aac"), "audio/aac"),
    "mp4": (lambda: _video("mp4", "libx264"), "video/mp4"),
    "mov": (lambda: _video("mov", "mpeg4"), "video/quicktime"),
    "webm": (lambda: _video("webm", "libvpx"), "video/webm"),
    "mkv": (lambda: _video("matroska", "ffv1"), "video/x-matroska"),
    "avi": (lambda: _video("avi", "mpeg4"), "video/x-msvideo"),
}


@pytest.mark.parametrize("label", list(ENCODED))
def test_sniff_real_media_encoded_with_pyav(label: str) -> None:
    make, media_type = ENCODED[label]
    try:
        data = make()
    except Exception as exc:  # an encoder missing from this FFmpeg build
        if type(exc).__module__.startswith("av"):
            pytest.skip(f"cannot encode {label}: {exc}")
        raise
    assert sniff(data[:SNIFF_BYTES]) == media_type


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [
        ("PNG", "image/png"),
        ("JPEG", "image/jpeg"),
        ("GIF", "image/gif"),
        ("WEBP", "image/webp"),
        ("BMP", "image/bmp"),
    ],
)
def test_sniff_real_images_encoded_with_pillow(fmt: str, media_type: str) -> None:
    image_module = pytest.importorskip("PIL.Image")
    out = io.BytesIO()
    image_module.new("RGB", (8, 8), (200, 10, 10)).save(out, format=fmt)
    assert sniff(out.getvalue()[:SNIFF_BYTES]) == media_type
