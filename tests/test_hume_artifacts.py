"""The Hume artifacts ZIP: entry names and order, CSV columns and values, errors, crops, bytes."""

from __future__ import annotations

import copy
import csv
import io
import json
import random
import stat
import zipfile
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockserver.inference.labels import (
    BURSTS,
    EXPRESSIONS,
    LANGUAGE_EMOTIONS,
    SENTIMENT_LEVELS,
    TOXICITY,
)
from mockserver.providers.hume.artifacts import MODEL_ORDER, build_artifacts, crop_path

Item = dict[str, Any]
FACS = ("Inner brow raise", "Outer brow raise", "Brow lowerer", "Nose crinkle", "Lip stretch")
FACE_DESCRIPTIONS = ("Smile", "Frown", "Wink", "Hand over mouth", "Hand over eyes")
TRICKY = 'He said, "stop",\nthen left\r\nagain'  # comma, quotes, LF and CRLF in one cell
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
IMAGE, VIDEO = "faces/group.jpg", "clips/talk.mp4"

FACE_COLUMNS = ["frame", "time", "prob", "box_x", "box_y", "box_w", "box_h"]
SPAN = ["begin", "end"]
CONFIDENCES = ["confidence", "speaker_confidence"]
POSITION = ["position_begin", "position_end"]


def scores(names: Sequence[str], rng: random.Random) -> list[dict[str, Any]]:
    return [{"name": name, "score": rng.random()} for name in names]


def span(begin: float, end: float) -> dict[str, float]:
    return {"begin": begin, "end": end}


def face(rng: random.Random, frame: int, time: float, *, detailed: bool) -> Item:
    box = {k: rng.uniform(0, 1000) for k in "xywh"}
    return {
        "frame": frame,
        "time": time,
        "prob": rng.random(),
        "box": box,
        "emotions": scores(EXPRESSIONS, rng),
        "facs": scores(FACS, rng) if detailed else None,
        "descriptions": scores(FACE_DESCRIPTIONS, rng) if detailed else None,
    }


def language(rng: random.Random, text: str, begin: int, time: dict[str, float] | None) -> Item:
    detailed = time is not None
    return {
        "text": text,
        "position": {"begin": begin, "end": begin + len(text)},
        "time": time,
        "confidence": rng.random() if detailed else None,
        "speaker_confidence": None,
        "emotions": scores(LANGUAGE_EMOTIONS, rng),
        "sentiment": scores(SENTIMENT_LEVELS, rng) if detailed else None,
        "toxicity": scores(TOXICITY, rng) if detailed else None,
    }


def ner(rng: random.Random, entity: str, time: dict[str, float] | None) -> Item:
    return {
        "entity": entity,
        "position": {"begin": 4, "end": 4 + len(entity)},
        "entity_confidence": rng.random(),
        "support": rng.uniform(0, 50),
        "uri": "https://en.wikipedia.org/wiki/Ada_Lovelace",
        "link_word": "Ada Lovelace",
        "time": time,
        "confidence": rng.random() if time else None,
        "speaker_confidence": rng.random() if time else None,
        "emotions": scores(LANGUAGE_EMOTIONS, rng),
    }


def output(groups: dict[str, list[Item]], metadata: Any = None) -> dict[str, Any]:
    grouped = [{"id": gid, "predictions": items} for gid, items in groups.items()]
    return {"metadata": metadata, "grouped_predictions": grouped}


def make_predictions() -> list[dict[str, Any]]:
    """A url archive (image + video), a failed url and a text source, as /predictions sends."""
    rng = random.Random(20240601)
    transcript = {"confidence": 0.936, "detected_language": "en"}
    image = {
        "file": IMAGE,
        "file_type": "image",
        "models": {
            "face": output(
                {
                    "face_0": [face(rng, 0, 0, detailed=True)],
                    "face_1": [face(rng, 0, 0, detailed=True)],
                }
            ),
        },
    }
    video_faces = [face(rng, f, f / 3, detailed=False) for f in (0, 3, 6)]
    burst = {"time": span(1.25, 2.0), "emotions": scores(EXPRESSIONS, rng)}
    burst["descriptions"] = scores(BURSTS, rng)
    prosody = [
        {
            "text": text,
            "time": span(b, e),
            "confidence": rng.random(),
            "speaker_confidence": None,
            "emotions": scores(EXPRESSIONS, rng),
        }
        for text, b, e in ((TRICKY, 0.0, 2.5), (None, 2.5, 3.1))
    ]
    video = {
        "file": VIDEO,
        "file_type": "video_with_audio",
        "models": {
            "face": output({"unknown": video_faces}),
            "burst": output({"unknown": [burst]}),
            "prosody": output({"spk_0": prosody}, transcript),
            "language": output(
                {
                    "spk_0": [
                        language(rng, "Hello,", 0, span(0.0, 0.4)),
                        language(rng, '"friend"', 7, span(0.5, 0.9)),
                    ]
                },
                transcript,
            ),
            "ner": output({"spk_0": [ner(rng, "Ada Lovelace", span(1.0, 1.6))]}, transcript),
        },
    }
    text = {
        "file": "text",
        "file_type": "text",
        "models": {
            "language": output({"unknown": [language(rng, TRICKY, 0, None)]}),
            "ner": output({"unknown": [ner(rng, 'Smith, "Jr."', None)]}),
        },
    }
    broken = {"file": "clips/broken.mov", "message": 'could not decode, "moov" atom\nnot found'}
    return [
        {
            "source": {"type": "url", "url": "https://example.com/media.zip"},
            "results": {"predictions": [image, video], "errors": [broken]},
        },
        {"source": {"type": "url", "url": "https://example.com/gone.mp4"}, "error": "HTTP 404"},
        {"source": {"type": "text"}, "results": {"predictions": [text], "errors": []}},
    ]


def make_crops() -> list[tuple[str, bytes]]:
    return [
        (crop_path(0, IMAGE, 0, "face_0"), PNG),
        (crop_path(0, IMAGE, 0, "face_1"), PNG[::-1]),
    ]


def items_of(predictions: Sequence[dict[str, Any]], model: str) -> list[tuple[int, str, str, Item]]:
    found = []
    for index, source in enumerate(predictions):
        for prediction in source.get("results", {}).get("predictions", []):
            if model in prediction["models"]:
                for group in prediction["models"][model]["grouped_predictions"]:
                    found += [
                        (index, prediction["file"], group["id"], i) for i in group["predictions"]
                    ]
    return found


def read_csv(archive: zipfile.ZipFile, name: str) -> list[list[str]]:
    data = archive.read(name)
    assert not data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8")
    assert text.endswith("\r\n")
    return list(csv.reader(io.StringIO(text, newline="")))


def read_dicts(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    header, *rows = read_csv(archive, name)
    assert len(set(header)) == len(header)
    return [dict(zip(header, row, strict=True)) for row in rows]


def cell(value: Any) -> str:
    return "" if value is None else str(value)


@pytest.fixture(scope="module")
def predictions() -> list[dict[str, Any]]:
    return make_predictions()


@pytest.fixture(scope="module")
def archive(predictions: list[dict[str, Any]]) -> zipfile.ZipFile:
    data = build_artifacts(predictions, make_crops())
    assert data is not None
    return zipfile.ZipFile(io.BytesIO(data))


def test_entries_come_in_the_fixed_order(archive: zipfile.ZipFile) -> None:
    assert archive.testzip() is None
    assert archive.namelist() == [
        "README.txt",
        "face.csv",
        "burst.csv",
        "prosody.csv",
        "language.csv",
        "ner.csv",
        "errors.csv",
        "faces/0/faces/group.jpg/0_face_0.png",
        "faces/0/faces/group.jpg/0_face_1.png",
    ]


def test_entries_have_fixed_time_mode_and_deflate(archive: zipfile.ZipFile) -> None:
    for info in archive.infolist():
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.compress_type == zipfile.ZIP_DEFLATED
        assert info.create_system == 3
        assert stat.S_IMODE(info.external_attr >> 16) == 0o644
        assert stat.S_ISREG(info.external_attr >> 16)


def test_headers_name_identity_fields_then_labels(archive: zipfile.ZipFile) -> None:
    def prefixed(prefix: str, names: Sequence[str]) -> list[str]:
        return [prefix + n for n in names]

    identity = ["source", "file", "id"]
    expected = {
        "face.csv": identity
        + FACE_COLUMNS
        + list(EXPRESSIONS)
        + prefixed("facs:", FACS)
        + prefixed("descriptions:", FACE_DESCRIPTIONS),
        "burst.csv": identity + SPAN + list(EXPRESSIONS) + prefixed("descriptions:", BURSTS),
        "prosody.csv": identity + SPAN + ["text"] + CONFIDENCES + list(EXPRESSIONS),
        "language.csv": identity
        + ["text"]
        + POSITION
        + SPAN
        + CONFIDENCES
        + list(LANGUAGE_EMOTIONS)
        + prefixed("sentiment:", SENTIMENT_LEVELS)
        + prefixed("toxicity:", TOXICITY),
        "ner.csv": identity
        + ["entity", "link_word", "uri", "entity_confidence", "support"]
        + POSITION
        + SPAN
        + CONFIDENCES
        + list(LANGUAGE_EMOTIONS),
        "errors.csv": ["source", "file", "message"],
    }
    for name, header in expected.items():
        assert read_csv(archive, name)[0] == header, name
    face_header = read_csv(archive, "face.csv")[0]
    assert sum(h.startswith("facs:") for h in face_header) == len(FACS)
    language_header = read_csv(archive, "language.csv")[0]
    assert sum(h.startswith("sentiment:") for h in language_header) == 9
    assert sum(h.startswith("toxicity:") for h in language_header) == 6


@pytest.mark.parametrize("model", ["face", "burst", "prosody", "language", "ner"])
def test_one_row_per_item_and_values_round_trip(
    archive: zipfile.ZipFile, predictions: list[dict[str, Any]], model: str
) -> None:
    rows = read_dicts(archive, f"{model}.csv")
    items = items_of(predictions, model)
    assert len(rows) == len(items) > 0
    for row, (source, file, gid, item) in zip(rows, items, strict=True):
        assert (row["source"], row["file"], row["id"]) == (str(source), file, gid)
        for key, prefix in [("emotions", ""), ("facs", "facs:"), ("descriptions", "descriptions:")]:
            for score in item.get(key) or ():
                assert float(row[prefix + score["name"]]) == score["score"]
        for key in ("sentiment", "toxicity"):
            for score in item.get(key) or ():
                assert float(row[f"{key}:{score['name']}"]) == score["score"]
        check_fields(model, row, item)


def check_fields(model: str, row: dict[str, str], item: Item) -> None:
    time = item.get("time")
    if model == "face":
        assert int(row["frame"]) == item["frame"]
        assert float(row["time"]) == item["time"]
        assert float(row["prob"]) == item["prob"]
        for k in "xywh":
            assert float(row[f"box_{k}"]) == item["box"][k]
        return
    if time is None:
        assert row["begin"] == row["end"] == ""
    else:
        assert (float(row["begin"]), float(row["end"])) == (time["begin"], time["end"])
    plain = ("text", "entity", "link_word", "uri", "confidence", "speaker_confidence")
    for key in plain:
        if key in item:
            assert row[key] == cell(item[key]), key
    for key in ("entity_confidence", "support"):
        if key in item:
            assert float(row[key]) == item[key]
    if "position" in item:
        assert int(row["position_begin"]) == item["position"]["begin"]
        assert int(row["position_end"]) == item["position"]["end"]


def test_missing_lists_leave_cells_empty(archive: zipfile.ZipFile) -> None:
    faces = read_dicts(archive, "face.csv")
    assert [r["file"] for r in faces] == [IMAGE, IMAGE, VIDEO, VIDEO, VIDEO]
    assert [r["id"] for r in faces] == ["face_0", "face_1", "unknown", "unknown", "unknown"]
    assert all(r["facs:Nose crinkle"] and r["descriptions:Smile"] for r in faces[:2])
    assert all(r["facs:Nose crinkle"] == r["descriptions:Smile"] == "" for r in faces[2:])
    assert faces[0]["time"] == "0"  # an int on the wire stays an int
    text_row = read_dicts(archive, "language.csv")[-1]
    assert text_row["source"] == "2" and text_row["file"] == "text"
    assert text_row["sentiment:1"] == text_row["toxicity:toxic"] == text_row["confidence"] == ""


def test_texts_with_commas_quotes_and_newlines_survive(archive: zipfile.ZipFile) -> None:
    assert read_dicts(archive, "prosody.csv")[0]["text"] == TRICKY
    assert read_dicts(archive, "prosody.csv")[1]["text"] == ""  # null text
    assert read_dicts(archive, "language.csv")[-1]["text"] == TRICKY
    assert read_dicts(archive, "language.csv")[1]["text"] == '"friend"'
    assert read_dicts(archive, "ner.csv")[-1]["entity"] == 'Smith, "Jr."'


def test_errors_list_source_level_and_file_errors(archive: zipfile.ZipFile) -> None:
    assert read_csv(archive, "errors.csv")[1:] == [
        ["0", "clips/broken.mov", 'could not decode, "moov" atom\nnot found'],
        ["1", "", "HTTP 404"],
    ]


def test_readme_describes_layout_and_lists_csvs(archive: zipfile.ZipFile) -> None:
    readme = archive.read("README.txt").decode("utf-8")
    flat = " ".join(readme.split())
    for name, rows in [("face", 5), ("burst", 1), ("prosody", 2), ("language", 3), ("ner", 2)]:
        assert f"{name}.csv ({rows} row" in flat
    assert "errors.csv (2 rows)" in flat
    assert "facemesh.csv" not in flat
    assert "faces/<source index>/<file>/<frame>_<id>.png" in flat
    assert "\n\n" not in readme.strip()  # one paragraph


def test_crops_are_written_last_with_their_bytes(archive: zipfile.ZipFile) -> None:
    for name, data in make_crops():
        assert archive.read(name) == data


def test_facemesh_sits_between_face_and_burst() -> None:
    rng = random.Random(1)
    mesh = {"emotions": scores(EXPRESSIONS, rng)}
    burst = {"time": span(0, 1), "emotions": scores(EXPRESSIONS, rng), "descriptions": None}
    prediction = {
        "file": "a.mp4",
        "file_type": "video_no_audio",
        "models": {
            "burst": output({"unknown": [burst]}),
            "facemesh": output({"unknown": [mesh]}),
            "face": output({"unknown": [face(rng, 0, 0.0, detailed=False)]}),
        },
    }
    source = {"source": {"type": "text"}, "results": {"predictions": [prediction], "errors": []}}
    data = build_artifacts([source])
    assert data is not None
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.namelist() == ["README.txt", "face.csv", "facemesh.csv", "burst.csv"]
    assert read_csv(archive, "facemesh.csv")[0] == ["source", "file", "id", *EXPRESSIONS]
    # descriptions null in every burst item: no descriptions: columns at all
    assert not any(h.startswith("descriptions:") for h in read_csv(archive, "burst.csv")[0])
    assert list(MODEL_ORDER) == ["face", "facemesh", "burst", "prosody", "language", "ner"]


def test_labels_follow_first_item_and_later_items_are_written_by_name() -> None:
    first = {
        "time": span(0, 1),
        "emotions": [{"name": "Joy", "score": 0.5}, {"name": "Awe", "score": 0.25}],
    }
    later = {
        "time": span(1, 2),
        "emotions": [{"name": "Awe", "score": 0.125}, {"name": "Pain", "score": 1e-300}],
    }
    prediction = {"file": "a.wav", "models": {"prosody": output({"unknown": [first, later]})}}
    source = {"source": {"type": "text"}, "results": {"predictions": [prediction], "errors": []}}
    data = build_artifacts([source])
    assert data is not None
    rows = read_csv(zipfile.ZipFile(io.BytesIO(data)), "prosody.csv")
    assert rows[0][-3:] == ["Joy", "Awe", "Pain"]
    assert rows[1][-3:] == ["0.5", "0.25", ""]
    assert rows[2][-3:] == ["", "0.125", "1e-300"]


def test_same_input_gives_identical_bytes(predictions: list[dict[str, Any]]) -> None:
    first = build_artifacts(predictions, make_crops())
    again = build_artifacts(json.loads(json.dumps(predictions)), iter(make_crops()))
    assert first is not None and first == again
    assert build_artifacts(copy.deepcopy(predictions)) == build_artifacts(predictions)


def test_out_receives_the_same_bytes(predictions: list[dict[str, Any]]) -> None:
    sink = io.BytesIO()
    assert build_artifacts(predictions, make_crops(), out=sink) is None
    assert sink.getvalue() == build_artifacts(predictions, make_crops())


class Pipe(io.RawIOBase):
    """A write-only, non-seekable sink, like a socket."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self.chunks.append(bytes(b))
        return len(self.chunks[-1])


def test_non_seekable_out_gets_a_valid_deterministic_zip(predictions: list[dict[str, Any]]) -> None:
    pipes = [Pipe(), Pipe()]
    for pipe in pipes:
        build_artifacts(predictions, make_crops(), out=pipe)  # type: ignore[arg-type]
    streamed = b"".join(pipes[0].chunks)
    assert streamed == b"".join(pipes[1].chunks)
    reference = build_artifacts(predictions, make_crops())
    assert reference is not None
    got, want = zipfile.ZipFile(io.BytesIO(streamed)), zipfile.ZipFile(io.BytesIO(reference))
    assert got.testzip() is None
    assert got.namelist() == want.namelist()
    assert all(got.read(n) == want.read(n) for n in want.namelist())


def test_empty_predictions_give_only_a_readme() -> None:
    data = build_artifacts([])
    assert data is not None
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.namelist() == ["README.txt"]
    assert "none" in archive.read("README.txt").decode("utf-8")
    quiet = {"source": {"type": "text"}, "results": {"predictions": [], "errors": []}}
    data = build_artifacts([quiet])
    assert data is not None
    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == ["README.txt"]


@pytest.mark.parametrize(
    ("file", "folder"),
    [
        ("faces/100.jpg", "faces/100.jpg"),
        ("../../etc/passwd", "etc/passwd"),
        ("/abs/x.png", "abs/x.png"),
        ("a\\b.png", "a/b.png"),
        ("C:\\Users\\me\\x.png", "C:/Users/me/x.png"),
        ("a//./b/../c.png", "a/b/c.png"),
        ("..", "_"),
        ("", "_"),
        ("bad\x00name\n.png", "bad_name_.png"),
        ("tar\udcffname.png", "tar_name.png"),
    ],
)
def test_crop_path_sanitises_the_file(file: str, folder: str) -> None:
    path = crop_path(3, file, 12, "face_1")
    assert path == f"faces/3/{folder}/12_face_1.png"
    segments = path.split("/")
    assert "\\" not in path and not path.startswith("/")
    assert not {"", ".", ".."} & set(segments)


def test_crop_path_keeps_group_ids_in_one_segment() -> None:
    assert crop_path(0, "v.mp4", 5, "../x\\y") == "faces/0/v.mp4/5_.._x_y.png"
    assert crop_path(0, "v.mp4", 5, "unknown", nth=2) == "faces/0/v.mp4/5_unknown_2.png"
    with pytest.raises(ValueError):
        crop_path(-1, "v.mp4", 0, "unknown")


@pytest.mark.parametrize(
    "name", ["../x.png", "/faces/x.png", "faces\\x.png", "faces//x.png", "faces/../x.png", "x.png"]
)
def test_unclean_crop_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="crop_path"):
        build_artifacts([], [(name, PNG)])


def test_repeated_crop_names_are_numbered_like_crop_path() -> None:
    name = crop_path(0, "v.mp4", 5, "unknown")
    data = build_artifacts([], [(name, b"a"), (name, b"b"), (name, b"c")])
    assert data is not None
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.namelist()[1:] == [name] + [
        crop_path(0, "v.mp4", 5, "unknown", nth=n) for n in (1, 2)
    ]
    assert [archive.read(n) for n in archive.namelist()[1:]] == [b"a", b"b", b"c"]


@given(st.lists(st.text(), min_size=1, max_size=4))
def test_any_text_round_trips(texts: list[str]) -> None:
    rng = random.Random(0)
    items = [language(rng, text, 0, None) for text in texts]
    prediction = {"file": "text", "models": {"language": output({"unknown": items})}}
    source = {"source": {"type": "text"}, "results": {"predictions": [prediction], "errors": []}}
    data = build_artifacts([source])
    assert data is not None
    rows = read_dicts(zipfile.ZipFile(io.BytesIO(data)), "language.csv")
    assert [r["text"] for r in rows] == texts


def test_lone_surrogates_do_not_break_the_archive() -> None:
    error = {"file": "x\udcff.wav", "message": "bad \ud800 byte"}
    source = {"source": {"type": "text"}, "results": {"predictions": [], "errors": [error]}}
    data = build_artifacts([source])
    assert data is not None
    rows = read_csv(zipfile.ZipFile(io.BytesIO(data)), "errors.csv")
    assert rows[1] == ["0", "x?.wav", "bad ? byte"]
