"""Archive expansion against hostile bytes built here, and sidecar transcript pairing."""

from __future__ import annotations

import bz2
import functools
import gzip
import io
import lzma
import os
import random
import stat
import struct
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver.engine.archives import Member, Source, expand, pair_sidecars
from mockserver.engine.media import ERROR_CODES, Blob, Limits, MediaError
from tests.samples import silent_wav

MiB = 1 << 20
ZIP_TAR_KINDS = ["zip", "tar", "tar.gz", "tar.bz2", "tar.xz"]
# What expanding may answer (never a URL code); anything else would be a bug escaping.
ARCHIVE_CODES = ERROR_CODES - {
    "unresolvable_url",
    "fetch_refused",
    "fetch_failed",
    "unsupported_url",
}


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Send temporary files to an empty folder, so a test can see what was left behind."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    yield tmp_path


def zip_of(*entries: tuple[str | zipfile.ZipInfo, bytes], level: int = 6) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return out.getvalue()


def file_info(name: str, data: bytes = b"") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def special_info(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, b""


def tar_of(*entries: tuple[tarfile.TarInfo, bytes], compression: str = "", **kw: object) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", **kw) as archive:  # type: ignore[call-overload]
        for info, data in entries:
            archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    raw = out.getvalue()
    compress = {"": bytes, "gz": gzip.compress, "bz2": bz2.compress, "xz": _xz}
    return compress[compression](raw)  # type: ignore[no-any-return, operator]


def _xz(data: bytes) -> bytes:
    return lzma.compress(data, preset=0)  # the fastest preset keeps the tests quick


def archive_of(kind: str, files: list[tuple[str, bytes]]) -> bytes:
    if kind == "zip":
        return zip_of(*files)
    return tar_of(*(file_info(n, d) for n, d in files), compression=kind[4:])


def expand_bytes(data: bytes, name: str = "upload", limits: Limits | None = None) -> list[Member]:
    with Blob.from_bytes(data, name=name) as blob:
        return expand(blob, name=name, limits=limits or Limits())


def refusal(data: bytes, name: str = "upload", limits: Limits | None = None) -> MediaError:
    with pytest.raises(MediaError) as caught:
        expand_bytes(data, name, limits)
    return caught.value


def wav_bytes() -> bytes:
    return silent_wav(8000, 800)


WAV = wav_bytes()


# --------------------------------------------------------------------------- expanding


@pytest.mark.parametrize("kind", ZIP_TAR_KINDS)
def test_expand_lists_files_in_archive_order_with_normalised_paths(kind: str) -> None:
    inner = zip_of(("x.txt", b"nested"))
    files = [("faces/100.jpg", b"\xff\xd8\xff\xe0jpeg"), ("./b.txt", b"hello"), ("in.zip", inner)]
    members = expand_bytes(archive_of(kind, files), name=f"batch.{kind}")
    assert [m.path for m in members] == ["faces/100.jpg", "b.txt", "in.zip"]
    assert [m.blob.read_bytes() for m in members] == [d for _, d in files]
    assert [m.blob.media_type for m in members] == ["image/jpeg", "text/plain", "application/zip"]
    assert [m.blob.name for m in members] == ["faces/100.jpg", "b.txt", "in.zip"]


def test_expand_skips_directories_and_keeps_duplicates() -> None:
    data = tar_of(
        special_info("./", tarfile.DIRTYPE),
        special_info("faces", tarfile.DIRTYPE),
        file_info("faces/a.txt", b"one"),
        file_info("faces//a.txt", b"two"),
    )
    assert [(m.path, m.blob.read_bytes()) for m in expand_bytes(data)] == [
        ("faces/a.txt", b"one"),
        ("faces/a.txt", b"two"),
    ]
    zipped = zip_of(("dir/", b""), ("dir/a.txt", b"a"))
    assert [m.path for m in expand_bytes(zipped)] == ["dir/a.txt"]


def test_a_non_archive_is_its_own_single_member() -> None:
    with Blob.from_bytes(wav_bytes(), name="clip.zip") as blob:  # the name does not matter
        assert expand(blob, name="clip.zip", limits=Limits()) == [Member("clip.zip", blob)]


def test_an_empty_zip_has_no_members() -> None:
    assert expand_bytes(zip_of()) == []


def test_windows_separators_are_read_as_folders() -> None:
    assert [m.path for m in expand_bytes(zip_of(("faces\\1.jpg", b"x")))] == ["faces/1.jpg"]


def test_large_members_are_spooled_and_removed_with_their_blob(temp_dir: Path) -> None:
    data = archive_of("tar.gz", [("a.bin", os.urandom(50_000)), ("b.bin", os.urandom(10))])
    members = expand_bytes(data, limits=Limits(spool_bytes=1000))
    assert [m.blob.in_memory for m in members] == [False, True]
    assert len(list(temp_dir.iterdir())) == 1
    for member in members:
        member.blob.close()
    assert list(temp_dir.iterdir()) == []


# --------------------------------------------------------------------------- limits, bombs


def test_a_zip_bomb_is_stopped_by_the_ratio_while_streaming(temp_dir: Path) -> None:
    bomb = zip_of(("zeros.bin", bytes(16 * MiB)), level=9)
    assert len(bomb) < 20_000
    error = refusal(bomb, "bomb.zip", Limits(max_total_bytes=1 << 40))
    assert (error.code, error.name) == ("compression_ratio", "zeros.bin")
    assert "'bomb.zip'" in error.message and "200" in error.message
    assert list(temp_dir.iterdir()) == []


def test_a_tar_gz_bomb_is_stopped_by_the_ratio_while_streaming(temp_dir: Path) -> None:
    bomb = tar_of(file_info("zeros.bin", bytes(16 * MiB)), compression="gz")
    error = refusal(bomb, "bomb.tar.gz", Limits(max_total_bytes=1 << 40))
    assert error.code == "compression_ratio"
    assert list(temp_dir.iterdir()) == []


@pytest.mark.parametrize("kind", ["zip", "tar.gz", "tar.bz2", "tar.xz"])
def test_the_ratio_is_per_entry_even_when_the_archive_ratio_is_low(kind: str) -> None:
    noise = os.urandom(100_000)  # incompressible: keeps the whole-archive ratio near 20
    data = archive_of(kind, [("noise.bin", noise), ("silence.raw", bytes(2 * MiB))])
    error = refusal(data, "mixed")
    assert (error.code, error.name) == ("compression_ratio", "silence.raw")


@functools.cache
def prose(seed: int, size: int) -> bytes:
    """Text-like bytes that compress about 4:1, as transcripts and logs do."""
    rng = random.Random(seed)
    words = [bytes(rng.choices(range(97, 123), k=rng.randint(2, 9))) for _ in range(5000)]
    return b" ".join(rng.choices(words, k=size // 5))[:size]


@pytest.mark.parametrize("kind", ZIP_TAR_KINDS)
def test_ordinary_compressible_files_are_not_mistaken_for_bombs(kind: str) -> None:
    files = [("a.txt", prose(1, 1200 * 1024)), ("c.wav", WAV)]  # one entry past the floor
    members = expand_bytes(archive_of(kind, files))
    assert [m.blob.size for m in members] == [len(d) for _, d in files]


def test_the_ratio_is_also_checked_over_the_whole_archive() -> None:
    under_floor = bytes(MiB - 4096)  # each entry alone is below the ratio floor
    data = zip_of(*((f"part{i}.raw", under_floor) for i in range(6)), level=9)
    error = refusal(data, "parts.zip")
    assert (error.code, error.name) == ("compression_ratio", "parts.zip")


def test_small_compressible_files_pass_below_the_ratio_floor() -> None:
    members = expand_bytes(zip_of(("blank.txt", b" " * 100_000)))
    assert members[0].blob.size == 100_000


def test_overlapping_zip_entries_cannot_multiply_one_kernel() -> None:
    single = zip_of(("a", bytes(MiB - 4096)), level=9)
    end = single.rindex(b"PK\x05\x06")
    size, offset = struct.unpack("<12xLL2x", single[end : end + 22])
    directory = single[offset : offset + size] * 20
    eocd = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 20, 20, len(directory), offset, 0)
    overlapped = single[:offset] + directory + eocd
    assert refusal(overlapped).code in ("compression_ratio", "bad_archive")


@pytest.mark.parametrize("kind", ZIP_TAR_KINDS)
def test_too_many_entries(kind: str) -> None:
    data = archive_of(kind, [(f"{i}.txt", b"x") for i in range(6)])
    assert len(expand_bytes(data, limits=Limits(max_entries=6))) == 6
    error = refusal(data, "many", Limits(max_entries=5))
    assert (error.code, error.name) == ("too_many_entries", "many")
    assert "5 entries" in error.message


def test_directories_count_as_entries() -> None:
    data = tar_of(*(special_info(f"d{i}", tarfile.DIRTYPE) for i in range(4)))
    assert refusal(data, limits=Limits(max_entries=3)).code == "too_many_entries"


def test_zip_entry_count_is_refused_before_zipfile_reads_the_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = zip_of(*((f"{i}.txt", b"x") for i in range(4)))

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("zipfile parsed a directory that was already too large")

    monkeypatch.setattr(zipfile, "ZipFile", forbidden)
    assert refusal(data, limits=Limits(max_entries=3)).code == "too_many_entries"


def test_zip_entries_are_counted_even_when_the_end_record_is_unreadable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import mockserver.engine.archives as archives

    monkeypatch.setattr(archives, "_zip_directory", lambda raw, size: None)
    data = zip_of(*((f"{i}.txt", b"x") for i in range(4)))
    assert refusal(data, limits=Limits(max_entries=3)).code == "too_many_entries"


def as_zip64(data: bytes) -> bytes:
    """Rewrite a zip's end records the zip64 way (counts in the zip64 record only)."""
    end = data.rindex(b"PK\x05\x06")
    count, size, offset = struct.unpack("<10xHLL2x", data[end : end + 22])
    record = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, offset)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, end, 1)
    eocd = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return data[:end] + record + locator + eocd


def test_zip64_end_records_are_read_for_the_entry_count(monkeypatch: pytest.MonkeyPatch) -> None:
    data = as_zip64(zip_of(*((f"{i}.txt", b"x") for i in range(4))))
    assert [m.path for m in expand_bytes(data)] == ["0.txt", "1.txt", "2.txt", "3.txt"]
    monkeypatch.setattr(zipfile, "ZipFile", None)  # must not be reached
    assert refusal(data, limits=Limits(max_entries=3)).code == "too_many_entries"


@pytest.mark.parametrize("kind", ZIP_TAR_KINDS)
def test_total_expanded_bytes_are_limited(kind: str) -> None:
    data = archive_of(kind, [("a.bin", os.urandom(600)), ("b.bin", os.urandom(600))])
    error = refusal(data, "two", Limits(max_total_bytes=1000))
    assert (error.code, error.name) == ("archive_too_large", "two")


@pytest.mark.parametrize("kind", ZIP_TAR_KINDS)
def test_each_member_is_limited_like_an_upload(kind: str) -> None:
    data = archive_of(kind, [("ok.bin", os.urandom(900)), ("big.bin", os.urandom(2000))])
    error = refusal(data, "pack", Limits(max_file_bytes=1000))
    assert (error.code, error.name) == ("too_large", "big.bin")
    assert "'big.bin'" in error.message and "'pack'" in error.message


def test_a_failed_expansion_closes_the_members_already_made(temp_dir: Path) -> None:
    data = archive_of("zip", [("a.bin", os.urandom(5000)), ("../b.bin", b"x")])
    assert refusal(data, limits=Limits(spool_bytes=100)).code == "unsafe_path"
    assert list(temp_dir.iterdir()) == []


# --------------------------------------------------------------------------- hostile names


UNSAFE_NAMES = [
    "../evil.txt",
    "a/../../evil.txt",
    "a/b/..",
    "/etc/passwd",
    "//server/share/x.txt",
    "C:/Windows/x.txt",
    "c:x.txt",
    "..\\evil.txt",
    "a\\..\\..\\evil.txt",
    "\\\\server\\share\\x.txt",
    "a/\x01b.txt",
]


@pytest.mark.parametrize(
    ("kind", "name"),
    [(kind, name) for kind in ("zip", "tar") for name in UNSAFE_NAMES]
    + [("tar", "\udcffbad.txt")],  # tar names are bytes; zip names always decode
)
def test_zip_slip_names_are_refused(kind: str, name: str) -> None:
    data = archive_of(kind, [("fine.txt", b"ok"), (name, b"pwned")])
    error = refusal(data, "slip")
    assert (error.code, error.name) == ("unsafe_path", name)
    assert "'slip'" in error.message


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        (special_info("link", tarfile.SYMTYPE, "/etc/passwd"), "symbolic link to '/etc/passwd'"),
        (special_info("rel", tarfile.SYMTYPE, "../../x"), "symbolic link"),
        (special_info("hard", tarfile.LNKTYPE, "fine.txt"), "hard link to 'fine.txt'"),
        (special_info("fifo", tarfile.FIFOTYPE), "device or FIFO"),
        (special_info("tty", tarfile.CHRTYPE), "device or FIFO"),
        (special_info("disk", tarfile.BLKTYPE), "device or FIFO"),
    ],
)
def test_tar_links_and_devices_are_refused(
    entry: tuple[tarfile.TarInfo, bytes], reason: str
) -> None:
    data = tar_of(file_info("fine.txt", b"ok"), entry, file_info("link/passwd", b"x"))
    error = refusal(data, "links.tar")
    assert (error.code, error.name) == ("link_entry", entry[0].name)
    assert reason in error.message


@pytest.mark.parametrize(
    ("mode", "code", "reason"),
    [
        (stat.S_IFLNK | 0o777, "link_entry", "symbolic link"),
        (stat.S_IFIFO | 0o644, "link_entry", "device, FIFO or socket"),
        (stat.S_IFREG | 0o644, None, ""),
        (0, None, ""),
    ],
)
def test_zip_entries_are_typed_by_their_unix_mode(mode: int, code: str | None, reason: str) -> None:
    info = zipfile.ZipInfo("entry")
    info.create_system = 3
    info.external_attr = mode << 16
    data = zip_of((info, b"/etc/passwd"))
    if code is None:
        assert expand_bytes(data)[0].blob.read_bytes() == b"/etc/passwd"
    else:
        error = refusal(data)
        assert (error.code, error.name) == (code, "entry")
        assert reason in error.message


# --------------------------------------------------------------------------- corrupt input


def _flip_central_flag(data: bytes) -> bytes:
    at = data.index(b"PK\x01\x02") + 8
    return data[:at] + bytes([data[at] | 1]) + data[at + 1 :]


CORRUPT = {
    "truncated zip": zip_of(("a.txt", b"hello" * 1000))[:-30],
    "zip signature only": b"PK\x03\x04" + b"\x00" * 40,
    "bad deflate": (lambda z: z[:40] + b"\xff" * 20 + z[60:])(zip_of(("a.txt", b"ab" * 5000))),
    "encrypted flag": _flip_central_flag(zip_of(("a.txt", b"secret"))),
    "truncated tar.gz": tar_of(file_info("a.bin", os.urandom(5000)), compression="gz")[:-100],
    "gzip, not tar": gzip.compress(b"just some text, not a tar archive"),
    "bzip2, not tar": bz2.compress(b"\x01" * 600),
    "xz garbage": b"\xfd7zXZ\x00" + b"\x00" * 50,
    "tar, bad checksum": (lambda t: t[:148] + b"9999999\x00" + t[156:])(
        tar_of(file_info("a.txt", b"x"))
    ),
    "tar, truncated member": tar_of(file_info("a.bin", os.urandom(5000)))[:2000],
    "huge pax header": tar_of(
        file_info("a.txt", b"x"), format=tarfile.PAX_FORMAT, pax_headers={"c": "a" * (2 * MiB)}
    ),
    "huge gnu long name": tar_of(file_info("n" * (2 * MiB), b"x"), format=tarfile.GNU_FORMAT),
}


@pytest.mark.parametrize("label", list(CORRUPT))
def test_corrupt_archives_are_bad_archive_errors(label: str, temp_dir: Path) -> None:
    error = refusal(CORRUPT[label], "broken")
    assert (error.code, error.name) == ("bad_archive", "broken")
    assert error.message.startswith("Archive 'broken' could not be read (")
    assert list(temp_dir.iterdir()) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(ZIP_TAR_KINDS),
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=4),
    cut=st.floats(0.0, 1.0),
)
def test_mangled_archives_never_escape_as_other_exceptions(
    kind: str, edits: list[tuple[float, int]], cut: float
) -> None:
    data = bytearray(archive_of(kind, [("a/b.txt", b"hello " * 200), ("c.wav", wav_bytes())]))
    for where, value in edits:
        data[int(where * len(data))] = value
    data = data[: max(1, int(cut * len(data)))] if cut < 0.98 else data
    try:
        members = expand_bytes(bytes(data), limits=Limits(spool_bytes=512))
    except MediaError as exc:
        assert exc.code in ARCHIVE_CODES, exc
    else:
        for member in members:
            member.blob.close()


# --------------------------------------------------------------------------- sidecars


def members_of(*files: tuple[str, bytes]) -> list[Member]:
    return [Member(path, Blob.from_bytes(data, name=path)) for path, data in files]


def summary(sources: list[Source]) -> list[tuple[str, str | None]]:
    return [(s.path, s.transcript) for s in sources]


def test_a_media_file_takes_the_text_file_with_its_stem_as_transcript() -> None:
    members = members_of(
        ("a.jpg", b"\xff\xd8\xff\xe0"),
        ("clip.txt", b"  hello there \n"),
        ("clip.wav", WAV),
        ("notes.txt", b"unrelated"),
    )
    sources = pair_sidecars(members)
    assert summary(sources) == [("a.jpg", None), ("clip.wav", "hello there"), ("notes.txt", None)]
    assert sources[1].blob is members[2].blob


def test_sidecars_pair_only_within_a_folder() -> None:
    sources = pair_sidecars(members_of(("a/clip.wav", WAV), ("b/clip.txt", b"hi")))
    assert summary(sources) == [("a/clip.wav", None), ("b/clip.txt", None)]
    sources = pair_sidecars(members_of(("a/clip.wav", WAV), ("a/clip.txt", b"hi")))
    assert summary(sources) == [("a/clip.wav", "hi")]


def test_stems_match_case_sensitively_suffixes_do_not() -> None:
    sources = pair_sidecars(members_of(("Clip.wav", WAV), ("clip.txt", b"hi")))
    assert summary(sources) == [("Clip.wav", None), ("clip.txt", None)]
    sources = pair_sidecars(members_of(("clip.wav", WAV), ("clip.TXT", b"hi")))
    assert summary(sources) == [("clip.wav", "hi")]


def test_several_candidates_pair_in_archive_order() -> None:
    sources = pair_sidecars(
        members_of(("clip.wav", WAV), ("clip.webm", b"\x1aE\xdf\xa3"), ("clip.txt", b"one"))
    )
    assert summary(sources) == [("clip.wav", "one"), ("clip.webm", None)]
    sources = pair_sidecars(
        members_of(
            ("clip.txt", b"one"),
            ("clip.wav", WAV),
            ("clip.TXT", b"two"),
            ("clip.webm", b"\x1aE\xdf\xa3"),
        )
    )
    assert summary(sources) == [("clip.wav", "one"), ("clip.webm", "two")]


def test_only_utf8_txt_files_are_sidecars_and_only_media_take_them() -> None:
    sources = pair_sidecars(
        members_of(
            ("clip.wav", WAV),
            ("clip.json", b'{"text": "hi"}'),
            ("clip.txt", "caf\xe9".encode("latin-1")),
            ("photo.jpg", b"\xff\xd8\xff\xe0"),
            ("photo.txt", b"a caption"),
            ("song.en.txt", b"lyrics"),
            ("song.mp3", b"ID3\x04\x00"),
        )
    )
    assert summary(sources) == [
        ("clip.wav", None),
        ("clip.json", None),
        ("clip.txt", None),
        ("photo.jpg", None),
        ("photo.txt", None),
        ("song.en.txt", None),
        ("song.mp3", None),
    ]


def test_an_empty_or_bom_sidecar() -> None:
    sources = pair_sidecars(members_of(("a.wav", WAV), ("a.txt", b""), ("b.wav", WAV)))
    assert summary(sources) == [("a.wav", None), ("b.wav", None)]
    sources = pair_sidecars(members_of(("b.wav", WAV), ("b.txt", b"\xef\xbb\xbf hi\n")))
    assert summary(sources) == [("b.wav", "hi")]


def test_pairing_works_on_expanded_archives() -> None:
    data = archive_of("tar.gz", [("calls/1.wav", WAV), ("calls/1.txt", b"Hello."), ("x.txt", b"")])
    assert summary(pair_sidecars(expand_bytes(data))) == [
        ("calls/1.wav", "Hello."),
        ("x.txt", None),
    ]
