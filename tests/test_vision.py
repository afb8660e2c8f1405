"""The face pipeline: decoding, sampling, detection that follows the pixels, scores, tracks."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import warnings
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any

import av
import numpy as np
import pytest
import torch
from PIL import Image as PILImage
from PIL import ImageDraw

from mockserver.inference.faces import Box, detect_faces
from mockserver.inference.labels import EXPRESSIONS
from mockserver.inference.vision import (
    Face,
    ImageDecodeError,
    VideoDecodeError,
    analyse_image,
    analyse_video,
    decode_image,
    video_frames,
)
from mockserver.inference.vision_blobs import Blob, blobs
from mockserver.inference.vision_track import FaceTracker

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "fixtures" / "media" / "images"
VIDEO = ROOT / "fixtures" / "media" / "video"
IMAGE_TRUTH: dict[str, list[dict[str, Any]]] = json.loads((IMAGES / "truth.json").read_text())
VIDEO_TRUTH: dict[str, Any] = json.loads((VIDEO / "truth.json").read_text())
JOYFUL = ("Joy", "Amusement")
SAD = ("Sadness", "Disappointment")


def load_maker() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_vision", ROOT / "fixtures" / "make_vision.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


make = load_maker()


def encode(img: PILImage.Image, fmt: str = "PNG", **kw: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def draw(kind: str, *faces: Any) -> bytes:
    """A PNG of the fixture generator's scene with the given FaceSpecs."""
    return encode(make.scene(kind, list(faces)))


def box_error(box: Box, truth: dict[str, float]) -> float:
    return max(abs(box.x - truth["x"]), abs(box.y - truth["y"]), abs(box.w - truth["w"]),
               abs(box.h - truth["h"]))  # fmt: skip


# --- decoding ----------------------------------------------------------------------------------


@pytest.mark.parametrize("ext", ["png", "jpg"])
def test_decode_image_gives_rgb_uint8_pixels(ext: str) -> None:
    image = decode_image((IMAGES / f"face_smile.{ext}").read_bytes())
    assert (image.width, image.height) == (640, 480)
    assert image.pixels.shape == (480, 640, 3) and image.pixels.dtype == torch.uint8


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"definitely not an image", "not a decodable image"),
        (encode(PILImage.new("RGB", (8, 8)), "PPM"), "not a decodable image"),  # not allowed
        ((IMAGES / "face_smile.jpg").read_bytes()[:3000], "truncated"),
    ],
    ids=["empty", "garbage", "unsupported-format", "truncated-jpeg"],
)
def test_undecodable_images_raise_a_clear_value_error(data: bytes, message: str) -> None:
    with pytest.raises(ImageDecodeError, match=message) as err:
        decode_image(data)
    assert isinstance(err.value, ValueError)


def test_exif_orientation_is_applied() -> None:
    img = PILImage.new("RGB", (64, 32), (0, 0, 0))
    img.paste((255, 255, 255), (0, 0, 8, 8))  # a white marker, top-left of the stored pixels
    exif = PILImage.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    image = decode_image(encode(img, "JPEG", exif=exif, quality=95))
    assert (image.width, image.height) == (32, 64)
    assert image.pixels[:8, -8:].float().mean() > 200  # the marker is now top-right


def test_transparent_pixels_are_composited_on_white() -> None:
    image = decode_image(encode(PILImage.new("RGBA", (4, 4), (255, 0, 0, 0))))
    assert image.pixels.flatten().tolist() == [255] * 48


@pytest.mark.parametrize("factor", [1.5, 3.0], ids=["warning-range", "error-range"])
def test_decompression_bombs_are_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, factor: float
) -> None:
    data = encode(PILImage.new("L", (100, 100)))
    monkeypatch.setattr(PILImage, "MAX_IMAGE_PIXELS", int(10_000 / factor))
    with pytest.raises(ImageDecodeError, match="too large"):
        decode_image(data)  # pytest turns Pillow's warning into an error: we catch it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # production: the warning is not an exception
        with pytest.raises(ImageDecodeError, match="too large"):
            decode_image(data)


def test_video_info_and_sampling_at_fps_pred() -> None:
    frames = video_frames((VIDEO / "face_audio.mp4").read_bytes())
    assert (frames.info.fps, frames.info.duration, frames.info.has_audio) == (30.0, 2.5, True)
    assert frames.info.file_type == "video_with_audio"
    sampled = list(frames)
    assert [f.index for f in sampled] == list(range(0, 75, 10))
    assert all(isinstance(f.time, float) and f.time == pytest.approx(f.index / 30) for f in sampled)
    assert sampled[0].image.pixels.shape == (480, 640, 3)
    assert not frames.truncated


@pytest.mark.parametrize(
    ("fps_pred", "indices"),
    [(0, list(range(75))), (1, [0, 30, 60]), (7.5, list(range(0, 75, 4))), (60, list(range(75)))],
)
def test_fps_pred_picks_the_first_frame_of_each_period(fps_pred: float, indices: list[int]) -> None:
    data = (VIDEO / "face_moving.mp4").read_bytes()
    frames = video_frames(data, fps_pred=fps_pred)
    assert not frames.info.has_audio and frames.info.file_type == "video_no_audio"
    assert [f.index for f in frames] == indices


def test_long_videos_are_capped_and_say_so() -> None:
    data = (VIDEO / "face_moving.mp4").read_bytes()
    by_count = video_frames(data, fps_pred=0, max_frames=5)
    assert [f.index for f in by_count] == [0, 1, 2, 3, 4] and by_count.truncated
    by_time = video_frames(data, fps_pred=10, max_seconds=1.0)
    assert [f.index for f in by_time][-1] == 30 and by_time.truncated


def test_a_slow_fps_pred_still_stops_at_the_time_cap() -> None:
    data = (VIDEO / "face_moving.mp4").read_bytes()
    frames = video_frames(data, fps_pred=0.01, max_seconds=1.0)  # next sample would be at 100 s
    assert [f.index for f in frames] == [0] and frames.truncated


def test_undecodable_videos_raise_a_clear_value_error() -> None:
    with pytest.raises(VideoDecodeError, match="not a decodable video"):
        video_frames(b"\x00\x01 junk that is no container" * 50)
    wav = io.BytesIO()
    with av.open(wav, "w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 800), np.int16), format="s16", layout="mono"
        )
        frame.sample_rate, frame.pts, frame.time_base = 8000, 0, Fraction(1, 8000)
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    with pytest.raises(VideoDecodeError, match="no video stream"):
        video_frames(wav.getvalue())
    with pytest.raises(ValueError, match="fps_pred"):
        video_frames((VIDEO / "face_moving.mp4").read_bytes(), fps_pred=-1)


def test_display_rotation_turns_frames_upright() -> None:
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 32, "yuv420p"
        stream.set_display_rotation(-90)  # how phones store portrait video: turn 90 clockwise
        pixels = np.zeros((32, 64, 3), np.uint8)
        pixels[:8, :8] = 255
        frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
        frame.pts = 0
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    (first,) = list(video_frames(buf.getvalue(), fps_pred=0))
    assert first.image.pixels.shape == (64, 32, 3)
    assert first.image.pixels[:8, -8:].float().mean() > 200  # top-left went top-right


# --- detection ---------------------------------------------------------------------------------


def test_blobs_are_8_connected_and_ordered_by_size() -> None:
    mask = torch.tensor(
        [
            [1, 0, 0, 0, 1, 0, 1],
            [0, 1, 0, 0, 1, 0, 1],
            [0, 0, 1, 0, 1, 1, 1],  # a U: its arms meet only in this row
            [0, 0, 0, 0, 0, 0, 0],
            [1, 1, 0, 0, 0, 0, 1],
        ],
        dtype=torch.bool,
    )
    assert blobs(mask) == [
        Blob(area=7, top=0, bottom=2, left=4, right=6),
        Blob(area=3, top=0, bottom=2, left=0, right=2),  # a diagonal joins
        Blob(area=2, top=4, bottom=4, left=0, right=1),
        Blob(area=1, top=4, bottom=4, left=6, right=6),
    ]
    assert blobs(torch.zeros(3, 3, dtype=torch.bool)) == []


@pytest.mark.parametrize(
    "path",
    sorted(p for p in IMAGES.iterdir() if p.suffix in (".png", ".jpg")),
    ids=lambda p: p.name,
)
def test_fixture_faces_are_found_where_they_were_drawn(path: Path) -> None:
    faces = analyse_image(path.read_bytes(), min_face_size=30)
    name = path.stem
    truth = sorted(IMAGE_TRUTH[name], key=lambda t: t["x"])
    assert len(faces) == len(truth)
    for face, drawn in zip(faces, truth, strict=True):
        assert box_error(face.box, drawn) <= 2.0
        assert face.prob > 0.99


def test_moving_the_face_moves_the_box() -> None:
    face = make.FaceSpec(200, 200, 150, 190, "medium", "smile")
    moved = make.FaceSpec(430, 260, 150, 190, "medium", "smile")
    (a,) = analyse_image(draw("office", face))
    (b,) = analyse_image(draw("office", moved))
    assert (b.box.x - a.box.x, b.box.y - a.box.y) == pytest.approx((230, 60), abs=1.5)
    assert (b.box.w, b.box.h) == pytest.approx((a.box.w, a.box.h), abs=1.5)


def test_landscape_has_no_face_at_any_threshold() -> None:
    assert analyse_image((IMAGES / "landscape.jpg").read_bytes(), prob_threshold=0.0) == []


def test_min_face_size_filters_small_faces() -> None:
    tiny = (IMAGES / "face_tiny.png").read_bytes()
    assert analyse_image(tiny) == []  # 40x52 px < 60 (Hume's default)
    assert len(analyse_image(tiny, min_face_size=40)) == 1
    assert analyse_image(tiny, min_face_size=45) == []  # 41 px wide: one side too small
    big = (IMAGES / "face_smile.png").read_bytes()
    assert len(analyse_image(big, min_face_size=170)) == 1
    assert analyse_image(big, min_face_size=230) == []


def skin_shapes() -> bytes:
    """A featureless skin ellipse and a skin rectangle, far apart on a blue backdrop."""
    img = PILImage.new("RGB", (640, 480), (90, 120, 200))
    pen = ImageDraw.Draw(img)
    pen.ellipse((60, 100, 220, 310), fill=make.SKINS["light"])
    pen.rectangle((380, 120, 560, 330), fill=make.SKINS["medium"])
    return encode(img)


def test_prob_reflects_how_face_like_a_blob_is() -> None:
    blobs = analyse_image(skin_shapes(), prob_threshold=0.0)
    assert len(blobs) == 2
    egg, brick = blobs
    assert 0.05 < egg.prob < 0.99  # right shape, but no eyes or mouth
    assert brick.prob < 0.01  # wrong shape and no features
    assert analyse_image(skin_shapes()) == []  # Hume's default threshold 0.99 drops both
    (clear,) = analyse_image((IMAGES / "face_smile.png").read_bytes(), prob_threshold=0.0)
    assert clear.prob > 0.999
    assert analyse_image((IMAGES / "face_smile.png").read_bytes(), prob_threshold=1.0) == []


def test_a_face_missing_its_mouth_falls_below_the_default_threshold() -> None:
    img = make.scene("office", [make.FaceSpec(320, 230, 170, 220, "light", "smile")])
    ImageDraw.Draw(img).rectangle((270, 270, 370, 320), fill=make.SKINS["light"])  # no mouth
    (face,) = analyse_image(encode(img), prob_threshold=0.0)
    assert 0.5 < face.prob < 0.99


@pytest.mark.parametrize("kwargs", [{"prob_threshold": 1.5}, {"min_face_size": -1}])
def test_bad_options_are_value_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        analyse_image((IMAGES / "face_smile.png").read_bytes(), **kwargs)


# --- expressions -------------------------------------------------------------------------------


def family(face: Face, labels: tuple[str, ...]) -> float:
    return max(face.emotions[label] for label in labels)


@pytest.mark.parametrize("ext", ["png", "jpg"])
def test_a_smile_scores_joy_and_a_frown_sadness(ext: str) -> None:
    (smile,) = analyse_image((IMAGES / f"face_smile.{ext}").read_bytes())
    (frown,) = analyse_image((IMAGES / f"face_frown.{ext}").read_bytes())
    assert list(smile.emotions) == list(EXPRESSIONS)
    assert all(0.0 <= v <= 1.0 for v in [*smile.emotions.values(), *frown.emotions.values()])
    assert family(smile, JOYFUL) > family(smile, SAD) + 0.3
    assert family(frown, SAD) > family(frown, JOYFUL) + 0.3
    assert max(smile.emotions, key=smile.emotions.__getitem__) in (
        "Joy",
        "Amusement",
        "Pride",
        "Love",
    )
    assert max(frown.emotions, key=frown.emotions.__getitem__) in ("Sadness", "Disappointment")


def test_grain_does_not_change_the_reading() -> None:
    (face,) = analyse_image((IMAGES / "face_noisy.jpg").read_bytes())
    assert family(face, JOYFUL) > family(face, SAD) + 0.3


def test_expression_follows_the_mouth_not_the_skin_tone() -> None:
    faces = [make.FaceSpec(170, 220, 150, 195, skin, mood)
             for skin in ("dark", "light") for mood in ("smile", "frown")]  # fmt: skip
    for spec in faces:
        (face,) = analyse_image(draw("studio", spec))
        happy = family(face, JOYFUL) > family(face, SAD)
        assert happy == (spec.mood == "smile"), spec


# --- determinism -------------------------------------------------------------------------------


def test_same_bytes_and_seed_give_bit_identical_results() -> None:
    data = (IMAGES / "two_faces.jpg").read_bytes()
    first, again = analyse_image(data, seed=7), analyse_image(data, seed=7)
    assert first == again
    other = analyse_image(data, seed=8)
    assert [f.box for f in other] == [f.box for f in first]
    assert [f.prob for f in other] == [f.prob for f in first]
    assert other[0].emotions != first[0].emotions  # only the jitter follows the seed


def test_same_video_and_seed_give_bit_identical_results() -> None:
    data = (VIDEO / "two_faces.mp4").read_bytes()
    assert analyse_video(data, seed=3) == analyse_video(data, seed=3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_finds_the_same_faces() -> None:
    data = (IMAGES / "two_faces.jpg").read_bytes()
    cpu, gpu = analyse_image(data), analyse_image(data, device="cuda")
    assert [f.box for f in gpu] == [f.box for f in cpu]
    assert analyse_image(data, device="cuda") == gpu


# --- video and tracking ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["face_moving", "two_faces", "face_audio"])
def test_video_faces_follow_the_drawn_motion_with_stable_tracks(name: str) -> None:
    result = analyse_video((VIDEO / f"{name}.mp4").read_bytes())
    assert (result.fps, result.duration, result.width, result.height) == (30.0, 2.5, 640, 480)
    assert result.file_type == ("video_with_audio" if name == "face_audio" else "video_no_audio")
    assert [f.frame for f in result.frames] == list(range(0, 75, 10))
    for frame in result.frames:
        truth = VIDEO_TRUTH["videos"][name][frame.frame]
        assert len(frame.faces) == len(truth)
        for face in frame.faces:
            drawn = truth[face.track or 0]  # tracks are numbered in the order faces were drawn
            assert box_error(face.box, drawn) <= 3.0


def test_two_faces_video_keeps_each_face_on_its_track() -> None:
    result = analyse_video((VIDEO / "two_faces.mp4").read_bytes(), fps_pred=6)
    tracks: dict[int, list[Face]] = {}
    for frame in result.frames:
        for face in frame.faces:
            assert face.track is not None
            tracks.setdefault(face.track, []).append(face)
    assert sorted(tracks) == [0, 1]
    assert all(f.box.x < 320 and family(f, JOYFUL) > family(f, SAD) for f in tracks[0])
    assert all(f.box.x > 320 and family(f, SAD) > family(f, JOYFUL) for f in tracks[1])
    ys = [f.box.y for f in tracks[0]]
    assert ys == sorted(ys) and ys[-1] - ys[0] > 150  # the left face moves down


def test_tracker_matches_by_position_and_retires_lost_faces() -> None:
    tracker = FaceTracker(max_gap=1.0)
    a, b = Box(0, 0, 100, 100), Box(300, 0, 100, 100)
    assert tracker.update(0.0, [a, b]) == [0, 1]
    moved = [Box(330, 10, 100, 100), Box(40, 5, 100, 100)]
    assert tracker.update(0.3, moved) == [1, 0]
    assert tracker.update(0.6, [Box(600, 300, 100, 100)]) == [2]  # nowhere near: a new face
    assert tracker.update(2.0, [Box(40, 5, 100, 100)]) == [3]  # track 0 was lost for > 1 s


def test_faces_in_an_image_are_numbered_left_to_right() -> None:
    faces = analyse_image((IMAGES / "two_faces.png").read_bytes())
    assert [f.track for f in faces] == [0, 1] and faces[0].box.x < faces[1].box.x


def test_detect_faces_alone_needs_no_threshold() -> None:
    image = decode_image((IMAGES / "two_faces.png").read_bytes())
    assert [round(d.box.x) for d in detect_faces(image)] == [95, 395]
