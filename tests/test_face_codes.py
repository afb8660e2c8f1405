"""FACS action units, face descriptions and saved face crops (Hume face options, §4, §7.1)."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image as PILImage
from PIL import ImageDraw

from mockserver.inference.face_codes import (
    DESCRIPTION_WEIGHTS,
    FACS_WEIGHTS,
    description_scores,
    facs_scores,
)
from mockserver.inference.labels import FACE_DESCRIPTIONS, FACS
from mockserver.inference.vision import (
    MAX_CROP_SIDE,
    Box,
    Face,
    analyse_image,
    analyse_video,
    decode_image,
    face_crop_png,
    face_descriptions,
    face_facs,
)
from mockserver.inference.vision_expr import FaceMeasures

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "fixtures" / "media" / "images"
VIDEO = ROOT / "fixtures" / "media" / "video"
SMILE = FaceMeasures(curvature=0.048, mouth_open=0.105, eye_open=0.18)


@cache
def one_face(name: str, keep_crops: bool = False) -> Face:
    (face,) = analyse_image((IMAGES / name).read_bytes(), keep_crops=keep_crops)
    return face


def codes(face: Face, seed: int = 0) -> tuple[dict[str, float], dict[str, float]]:
    facs, descriptions = face_facs(face, seed), face_descriptions(face, seed)
    assert facs is not None and descriptions is not None
    return facs, descriptions


def png(img: PILImage.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def opened(data: bytes | None) -> PILImage.Image:
    assert data is not None and data.startswith(b"\x89PNG\r\n\x1a\n")
    img = PILImage.open(io.BytesIO(data))
    img.load()
    return img


# --- label sets --------------------------------------------------------------------------------


@pytest.mark.parametrize("labels", [FACS, FACE_DESCRIPTIONS], ids=["facs", "descriptions"])
def test_label_sets_have_no_duplicates(labels: tuple[str, ...]) -> None:
    assert len(set(labels)) == len(labels) and len(labels) >= 20


def test_label_sets_include_the_documented_examples() -> None:
    assert {"Smile", "Frown", "Wink", "Hand over mouth", "Hand over eyes"} <= set(FACE_DESCRIPTIONS)
    assert list(FACE_DESCRIPTIONS) == sorted(FACE_DESCRIPTIONS, key=str.lower)
    assert FACS[0] == "AU1 Inner Brow Raise" and FACS[-1] == "AU54 Head Down"
    numbers = [int(name.split()[0][2:]) for name in FACS]
    assert numbers == sorted(numbers)


def test_weight_tables_only_name_real_labels() -> None:
    assert set(FACS_WEIGHTS) <= set(FACS)
    assert set(DESCRIPTION_WEIGHTS) <= set(FACE_DESCRIPTIONS)


# --- pure scoring ------------------------------------------------------------------------------


measures = st.builds(
    FaceMeasures,
    curvature=st.floats(-0.5, 0.5),
    mouth_open=st.floats(0.0, 1.0),
    eye_open=st.floats(0.0, 1.0),
)


@settings(max_examples=60, deadline=None)
@given(m=measures, key=st.integers(0, 2**63 - 1))
def test_every_label_once_in_order_within_unit_interval(m: FaceMeasures, key: int) -> None:
    for scores, labels in ((facs_scores(m, key), FACS),
                           (description_scores(m, key), FACE_DESCRIPTIONS)):  # fmt: skip
        assert tuple(scores) == labels
        assert all(0.0 <= v <= 1.0 for v in scores.values())


def test_same_input_same_output_and_the_key_only_jitters() -> None:
    assert facs_scores(SMILE, 5) == facs_scores(SMILE, 5)
    assert description_scores(SMILE, 5) == description_scores(SMILE, 5)
    a, b = facs_scores(SMILE, 5), facs_scores(SMILE, 6)
    assert a != b and max(abs(a[k] - b[k]) for k in FACS) < 0.05


def test_what_the_cues_cannot_see_stays_low() -> None:
    facs, descriptions = facs_scores(SMILE, 1), description_scores(SMILE, 1)
    for unseen in ("AU19 Tongue Show", "AU34 Puff", "AU53 Head Up", "AU54 Head Down"):
        assert facs[unseen] < 0.1
    for unseen in ("Hand over mouth", "Hand over eyes", "Wink", "Tongue out"):
        assert descriptions[unseen] < 0.1


def test_open_mouth_and_eye_openness_drive_their_units() -> None:
    closed_line = FaceMeasures(curvature=0.0, mouth_open=0.03, eye_open=0.18)
    gaping = FaceMeasures(curvature=0.0, mouth_open=0.14, eye_open=0.18)
    for au in ("AU25 Lips Part", "AU26 Jaw Drop", "AU27 Mouth Stretch"):
        assert facs_scores(gaping, 1)[au] > facs_scores(closed_line, 1)[au] + 0.3
    assert description_scores(gaping, 1)["Mouth open"] > 0.7
    shut = FaceMeasures(curvature=0.0, mouth_open=0.03, eye_open=0.01)
    assert facs_scores(shut, 1)["AU43 Eye Closure"] > 0.8
    assert facs_scores(closed_line, 1)["AU43 Eye Closure"] < 0.1
    assert description_scores(shut, 1)["Closed eyes"] > 0.8
    wide = FaceMeasures(curvature=0.0, mouth_open=0.14, eye_open=0.35)
    assert facs_scores(wide, 1)["AU5 Upper Lid Raise"] > 0.5
    assert description_scores(wide, 1)["Surprise"] > 0.7


# --- from the pixels ---------------------------------------------------------------------------


@pytest.mark.parametrize("ext", ["png", "jpg"])
def test_a_smile_pulls_the_lip_corners_and_a_frown_depresses_them(ext: str) -> None:
    smile_facs, smile_desc = codes(one_face(f"face_smile.{ext}"))
    frown_facs, frown_desc = codes(one_face(f"face_frown.{ext}"))
    assert smile_facs["AU12 Lip Corner Puller"] > frown_facs["AU12 Lip Corner Puller"] + 0.5
    assert frown_facs["AU15 Lip Corner Depressor"] > smile_facs["AU15 Lip Corner Depressor"] + 0.5
    assert smile_facs["AU6 Cheek Raise"] > 0.5 and frown_facs["AU17 Chin Raiser"] > 0.4
    assert smile_desc["Smile"] > frown_desc["Smile"] + 0.5
    assert frown_desc["Frown"] > smile_desc["Frown"] + 0.5
    assert smile_facs["AU25 Lips Part"] > frown_facs["AU25 Lips Part"] + 0.4  # laughing mouth
    assert max(smile_desc, key=smile_desc.__getitem__) == "Smile"
    assert max(frown_desc, key=frown_desc.__getitem__) == "Frown"


def test_closed_eyes_raise_eye_closure() -> None:
    img = PILImage.open(IMAGES / "face_smile.png").convert("RGB")
    pen = ImageDraw.Draw(img)
    cx, cy, w, h = 320, 230, 170, 220  # truth.json's face_smile
    for side in (-1, 1):  # paint skin over each eye, then a thin lid line
        ex, ey = cx + side * 0.2 * w, cy - 0.08 * h
        pen.ellipse((ex - 0.12 * w, ey - 0.06 * h, ex + 0.12 * w, ey + 0.06 * h), (232, 190, 160))
        pen.line([(ex - 0.09 * w, ey), (ex + 0.09 * w, ey)], fill=(40, 26, 22), width=2)
    (shut,) = analyse_image(png(img))
    shut_facs, shut_desc = codes(shut)
    open_facs, open_desc = codes(one_face("face_smile.png"))
    assert shut_facs["AU43 Eye Closure"] > 0.7 > 0.1 > open_facs["AU43 Eye Closure"]
    assert shut_desc["Closed eyes"] > 0.7 > 0.1 > open_desc["Closed eyes"]


def test_codes_are_deterministic_and_follow_the_seed() -> None:
    data = (IMAGES / "two_faces.jpg").read_bytes()
    first, again = analyse_image(data, seed=4), analyse_image(data, seed=4)
    assert [codes(f, 4) for f in first] == [codes(f, 4) for f in again]
    left, right = codes(first[0], 4), codes(first[1], 4)
    assert left[0]["AU12 Lip Corner Puller"] > right[0]["AU12 Lip Corner Puller"]  # smile, frown
    reseeded = codes(first[0], 5)
    assert reseeded[0] != left[0] and reseeded[1] != left[1]


def test_an_unmeasured_face_has_no_codes() -> None:
    face = Face(Box(0, 0, 10, 10), 0.5, {})
    assert face_facs(face) is None and face_descriptions(face) is None


# --- crops -------------------------------------------------------------------------------------


def assert_crop_fits(face: Face) -> None:
    img = opened(face.crop)
    assert max(img.size) <= MAX_CROP_SIDE and img.mode == "RGB"
    assert img.width / img.height == pytest.approx(face.box.w / face.box.h, rel=0.03)


def test_keep_crops_saves_the_face_box_as_png() -> None:
    face = one_face("face_smile.png", keep_crops=True)
    assert_crop_fits(face)
    img = opened(face.crop)
    assert img.size == (round(face.box.w), round(face.box.h))  # under 256: full resolution
    centre = img.getpixel((img.width // 2, img.height // 2))
    assert isinstance(centre, tuple) and centre[0] > 150  # skin, not the backdrop
    assert one_face("face_smile.png").crop is None  # the default keeps no crops


def test_keep_crops_does_not_change_the_scores() -> None:
    kept, plain = one_face("face_smile.png", keep_crops=True), one_face("face_smile.png")
    assert (kept.box, kept.emotions, kept.measures) == (plain.box, plain.emotions, plain.measures)


def test_a_large_face_is_scaled_down_to_the_crop_limit() -> None:
    small = PILImage.open(IMAGES / "face_smile.png").convert("RGB")
    big = small.resize((small.width * 2, small.height * 2), PILImage.Resampling.BILINEAR)
    (face,) = analyse_image(png(big), keep_crops=True)
    assert face.box.h > 400
    assert_crop_fits(face)
    assert max(opened(face.crop).size) == MAX_CROP_SIDE


def test_video_frames_keep_crops_too() -> None:
    data = (VIDEO / "face_moving.mp4").read_bytes()
    result = analyse_video(data, fps_pred=1, keep_crops=True)
    faces = [face for frame in result.frames for face in frame.faces]
    assert len(faces) == len(result.frames) == 3
    for face in faces:
        assert_crop_fits(face)
        assert face_facs(face) is not None
    plain = analyse_video(data, fps_pred=1)
    assert all(f.crop is None for frame in plain.frames for f in frame.faces)


def test_crop_boxes_are_clamped_to_the_image() -> None:
    image = decode_image((IMAGES / "face_smile.png").read_bytes())
    edge = opened(face_crop_png(image, Box(600.0, -20.0, 100.0, 60.0)))
    assert edge.size == (40, 40)
    assert face_crop_png(image, Box(700.0, 10.0, 50.0, 50.0)) is None
