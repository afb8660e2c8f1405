"""Eden AI video builders (``providers/edenai/features/video.py``) on the synthetic fixtures.

Every assertion is about content: where the drawn faces are (``fixtures/media/video/truth.json``),
which of them smile, where the cuts of ``shots.mp4`` fall (``fixtures/make_shots.py``), what a
generated clip decodes to. Builders are called directly with a real :class:`InferenceService`.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import av
import pytest

from mockserver.inference.service import InferenceService
from mockserver.providers.edenai.catalog import SUBFEATURES
from mockserver.providers.edenai.features.base import Call, FeatureError, Input, Output
from mockserver.providers.edenai.features.video import BUILDERS
from tests.eden_helpers import Sink

ROOT = Path(__file__).resolve().parent.parent
VIDEO = ROOT / "fixtures" / "media" / "video"
TRUTH: dict[str, Any] = json.loads((VIDEO / "truth.json").read_text())
PUBLIC_ID = "6f1c1f4e-8a53-4d36-9a54-0b9f0c0a1d2e"


@pytest.fixture(scope="module")
def service(inference: InferenceService) -> InferenceService:
    """The shared CPU service (``conftest.inference``), under this module's name for it."""
    return inference


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "fixtures" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def run(
    service: InferenceService,
    subfeature: str,
    provider: str,
    video: str | bytes | None = "face_moving",
    sink: Sink | None = None,
    **params: Any,
) -> Output:
    data = (VIDEO / f"{video}.mp4").read_bytes() if isinstance(video, str) else video
    call = Call(
        subfeature, provider, None, {"show_base_64": True, **params}, 3, PUBLIC_ID, sink or Sink()
    )
    out = BUILDERS[subfeature](call, Input(data, "video/mp4", "clip.mp4"), service)
    json.dumps([out.fields, out.original_response])  # JSON-serialisable, or this raises
    return out


def centre(box: dict[str, float]) -> tuple[float, float]:
    return box["left"] + box["width"] / 2, box["top"] + box["height"] / 2


def truth_centre(video: str, time: float, face: int = 0) -> tuple[float, float]:
    drawn = TRUTH["videos"][video][round(time * TRUTH["fps"])][face]
    return (drawn["x"] + drawn["w"] / 2) / 640, (drawn["y"] + drawn["h"] / 2) / 480


# --- coverage ------------------------------------------------------------------------------------


def test_a_builder_for_every_video_subfeature_but_text_detection() -> None:
    video = {p for p in SUBFEATURES if p.startswith("video/")}
    assert set(BUILDERS) == video - {"video/text_detection_async"}


# --- faces and people ----------------------------------------------------------------------------


def test_face_boxes_follow_the_moving_face(service: InferenceService) -> None:
    out = run(service, "video/face_detection_async", "google")
    faces = out.fields["faces"]
    assert len(faces) == 10  # 4 samples a second over 2.5 s, one face each
    for face in faces:
        cx, cy = centre(face["bounding_box"])
        tx, ty = truth_centre("face_moving", face["offset"])
        assert abs(cx - tx) < 0.02 and abs(cy - ty) < 0.02
        landmarks = face["landmarks"]
        box = face["bounding_box"]
        assert box["left"] < landmarks["eye_left"][0] < landmarks["eye_right"][0]
        assert landmarks["eye_left"][1] < landmarks["nose"][1] < landmarks["mouth_left"][1]
    xs = [centre(f["bounding_box"])[0] for f in faces]
    assert xs == sorted(xs) and xs[-1] - xs[0] > 0.5
    attributes = faces[0]["attributes"]
    assert attributes["smiling"] > 0.9 and attributes["mouth_open"] > 0.9
    assert attributes["eyes_visible"] > 0.9 and attributes["frontal_gaze"] > 0.8
    assert set(attributes["pose"]) == {"pitch", "roll", "yawn"}
    native = out.original_response["annotationResults"][0]["faceDetectionAnnotations"]
    assert len(native) == 1 and len(native[0]["tracks"][0]["timestampedObjects"]) == 10
    assert out.cost > 0


def test_smiling_is_read_from_each_face(service: InferenceService) -> None:
    out = run(service, "video/face_detection_async", "amazon", "two_faces")
    faces = out.fields["faces"]
    left = [f for f in faces if centre(f["bounding_box"])[0] < 0.5]
    right = [f for f in faces if centre(f["bounding_box"])[0] >= 0.5]
    assert len(left) == len(right) == 10
    assert all(f["attributes"]["smiling"] > 0.9 for f in left)  # truth: left smiles
    assert all(f["attributes"]["smiling"] < 0.1 for f in right)  # right frowns
    assert all(f["attributes"]["mouth_open"] < 0.1 for f in right)  # a closed frown
    native = out.original_response
    assert native["JobStatus"] == "SUCCEEDED" and len(native["Faces"]) == 20
    assert native["VideoMetadata"]["FrameWidth"] == 640
    assert native["VideoMetadata"]["DurationMillis"] == 2500


def test_two_people_are_tracked_apart(service: InferenceService) -> None:
    out = run(service, "video/person_tracking_async", "amazon", "two_faces")
    persons = out.fields["persons"]
    assert len(persons) == 2
    left, right = sorted(persons, key=lambda p: p["tracked"][0]["bounding_box"]["left"])
    for person, face, direction in ((left, 0, 1), (right, 1, -1)):
        tracked = person["tracked"]
        assert len(tracked) == 10
        ys = [t["landmarks"]["nose"][1] for t in tracked]
        assert ys == sorted(ys, reverse=direction < 0)  # left moves down, right moves up
        first = tracked[0]
        tx, _ = truth_centre("two_faces", first["offset"], face)
        assert abs(centre(first["bounding_box"])[0] - tx) < 0.03  # body centred under the face
        assert first["attributes"]["upper_cloths"][0]["value"] == "Blue"  # the turtleneck
        assert first["bounding_box"]["height"] > 0.5  # a body, not just a face
    assert {p["Person"]["Index"] for p in out.original_response["Persons"]} == {0, 1}


def test_objects_are_the_tracked_people(service: InferenceService) -> None:
    out = run(service, "video/object_tracking_async", "google", "two_faces")
    objects = out.fields["objects"]
    assert [o["description"] for o in objects] == ["person", "person"]
    assert all(len(o["frames"]) == 10 and o["confidence"] > 0.9 for o in objects)
    native = out.original_response["annotationResults"][0]["objectAnnotations"]
    assert native[0]["entity"]["entityId"] == "/m/01g317"


# --- labels, moderation, logos -------------------------------------------------------------------


def test_labels_describe_people_setting_and_colours(service: InferenceService) -> None:
    indoor = run(service, "video/label_detection_async", "google")
    names = {label["name"] for label in indoor.fields["labels"]}
    assert {"person", "face", "indoor", "wall", "gray"} <= names
    assert "outdoor" not in names
    face = next(label for label in indoor.fields["labels"] if label["name"] == "face")
    assert face["timestamp"] == [{"start": 0.0, "end": 2.466667}]  # Google's "2.466667s"
    assert face["category"] == ["person"]

    garden = run(service, "video/label_detection_async", "amazon", "face_audio")
    labels = garden.fields["labels"]
    names = {label["name"] for label in labels}
    assert {"Person", "Face", "Outdoors", "Plant", "Green"} <= names and "Indoors" not in names
    first_face = next(label for label in labels if label["name"] == "Face")
    assert first_face["timestamp"] == [{"start": 0.0, "end": None}]  # Eden's Amazon mapping
    assert len(first_face["bounding_box"]) == 1


def test_clean_videos_are_not_flagged(service: InferenceService) -> None:
    google = run(service, "video/explicit_content_detection_async", "google", "two_faces")
    moderation = google.fields["moderation"]
    assert len(moderation) == 10
    assert all(m["confidence"] == 0.2 and m["category"] == "Explicit Nudity" for m in moderation)
    frames = google.original_response["annotationResults"][0]["explicitAnnotation"]["frames"]
    assert {f["pornographyLikelihood"] for f in frames} == {"VERY_UNLIKELY"}
    amazon = run(service, "video/explicit_content_detection_async", "amazon", "two_faces")
    assert amazon.fields["moderation"] == [] and amazon.original_response["ModerationLabels"] == []


def test_no_logo_is_invented(service: InferenceService) -> None:
    for provider in ("google", "twelvelabs"):
        assert run(service, "video/logo_detection_async", provider).fields == {"logos": []}


# --- shots ---------------------------------------------------------------------------------------


def test_a_continuous_fixture_is_one_shot(service: InferenceService) -> None:
    out = run(service, "video/shot_change_detection_async", "google", "two_faces")
    assert out.fields["shotAnnotations"] == [{"startTimeOffset": 0.0, "endTimeOffset": 2.467}]


def test_hard_cuts_split_shots(service: InferenceService) -> None:
    out = run(service, "video/shot_change_detection_async", "google", "shots")
    assert out.fields["shotAnnotations"] == [
        {"startTimeOffset": 0.0, "endTimeOffset": 0.767},
        {"startTimeOffset": 0.8, "endTimeOffset": 1.567},
        {"startTimeOffset": 1.6, "endTimeOffset": 2.367},
    ]
    native = out.original_response["annotationResults"][0]["shotAnnotations"]
    assert native[1] == {"startTimeOffset": "0.8s", "endTimeOffset": "1.566667s"}
    labels = run(service, "video/label_detection_async", "google", "shots").fields["labels"]
    per_shot = {
        (label["name"], segment["start"])
        for label in labels
        for segment in label["timestamp"]
        if segment["start"] > 0 or segment["end"] < 1  # not the whole-video segment
    }
    assert ("person", 0.0) in per_shot and ("person", 0.8) in per_shot
    assert ("sky", 1.6) in per_shot and ("person", 1.6) not in per_shot  # the landscape shot


def test_the_cut_fixture_matches_its_script() -> None:
    assert load_script("make_shots").main(["--check"]) == 0


# --- questions -----------------------------------------------------------------------------------


def test_answers_come_from_the_video(service: InferenceService) -> None:
    qa = "video/question_answer_async"
    out = run(service, qa, "google", "two_faces", text="How many people are in this video?")
    assert out.fields == {"answer": "There are two people in the video.", "finish_reason": "stop"}
    moving = run(service, qa, "google", text="Where does the person move, and are they happy?")
    answer = moving.fields["answer"]
    assert "moves from left to right" in answer and "smiling" in answer
    summary = run(service, qa, "google", "face_audio", text="Describe it.", max_tokens=6)
    assert summary.fields["finish_reason"] == "length"
    assert summary.fields["answer"] == "A 2.5-second video showing one person"
    native = summary.original_response["candidates"][0]
    assert native["finishReason"] == "MAX_TOKENS"


# --- deepfake ------------------------------------------------------------------------------------


def flicker_clip() -> bytes:
    """A face that swaps smile and frown and changes size between samples (a bad face swap)."""
    make = load_script("make_vision")
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        stream.options = {"crf": "30", "threads": "1"}
        for i in range(24):
            odd = (i // 3) % 2  # samples (every 3rd frame at 4/s) alternate
            face = make.FaceSpec(320, 240, 150 + 40 * odd, 195 + 40 * odd, "medium",
                                 "frown" if odd else "smile")  # fmt: skip
            frame = av.VideoFrame.from_image(make.scene("office", [face]))
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return buf.getvalue()


def test_deepfake_scores_temporal_consistency(service: InferenceService) -> None:
    real = run(service, "video/deepfake_detection_async", "sightengine", "face_moving")
    assert real.fields["prediction"] == "original" and real.fields["average_score"] < 0.2
    details = real.fields["details_per_frame"]
    assert [d["position"] for d in details] == sorted(d["position"] for d in details)
    assert details[1]["position"] == 267.0  # milliseconds
    fake = run(service, "video/deepfake_detection_async", "sightengine", flicker_clip())
    assert fake.fields["prediction"] == "deepfake" and fake.fields["average_score"] > 0.5
    assert fake.original_response["data"]["frames"][1]["type"]["deepfake"] > 0.5


# --- generation ----------------------------------------------------------------------------------


def generate(service: InferenceService, sink: Sink, **params: Any) -> Output:
    base = {"text": "a red ball rising over the ocean", "duration": 2, "fps": 12}
    return run(service, "video/generation_async", "openai", None, sink, **(base | params))


def test_generated_video_decodes_as_asked(service: InferenceService) -> None:
    sink = Sink()
    out = generate(service, sink)
    data = base64.b64decode(out.fields["video"])
    assert sink.files["openai-generated.mp4"] == (data, "video/mp4")
    assert out.fields["video_resource_url"].endswith("/openai-generated.mp4")
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        assert stream.codec_context.name == "h264"
        assert float(stream.average_rate) == 12 and len(frames) == 24
        assert (stream.width, stream.height) == (320, 180)  # 1280x720's aspect
        middle = frames[12].to_ndarray(format="rgb24")
    assert (middle[..., 0] > 150).sum() > 500  # the red ball is drawn
    assert out.cost > 0 and out.original_response["status"] == "completed"


def test_generation_depends_on_prompt_and_seed(service: InferenceService) -> None:
    sink = Sink()
    first = generate(service, sink).fields["video"]
    assert generate(service, sink).fields["video"] == first  # deterministic
    assert generate(service, sink, text="a green box moving left").fields["video"] != first
    assert (
        generate(service, sink, seed=99, text="a shape").fields["video"]
        != generate(service, sink, seed=98, text="a shape").fields["video"]
    )
    hidden = generate(service, sink, show_base_64=False)
    assert hidden.fields["video"] == "" and hidden.fields["video_resource_url"]


# --- determinism and failures --------------------------------------------------------------------


def test_the_same_video_gives_the_same_output(service: InferenceService) -> None:
    first = run(service, "video/person_tracking_async", "google", "two_faces")
    again = run(service, "video/person_tracking_async", "google", "two_faces")
    assert json.dumps(first.fields) == json.dumps(again.fields)
    assert json.dumps(first.original_response) == json.dumps(again.original_response)


@pytest.mark.parametrize("data", [b"this is not a video", b"", None])
def test_bytes_that_are_not_a_video_fail_the_provider(
    service: InferenceService, data: bytes | None
) -> None:
    with pytest.raises(FeatureError, match="google"):
        run(service, "video/face_detection_async", "google", data)
