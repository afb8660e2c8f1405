"""Turn a :class:`video_scene.SceneAnalysis` into labels, moderation, deepfake scores and answers.

Provider-neutral: the Eden AI builders (``providers/edenai/features/video.py``) name and shape
these per provider. Every rule reads a measured quantity; the thresholds are hand-set on the
synthetic fixtures and tagged [GUESS] where they stand for a vendor's model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .faces import Box
from .video_scene import FaceSeen, SceneAnalysis, SceneFrame, body_box

__all__ = [
    "LabelHit",
    "answer_question",
    "deepfake_scores",
    "exposure_level",
    "eyes_visible",
    "frame_labels",
    "frontal",
    "is_mouth_open",
    "is_smiling",
    "people_count",
    "sigmoid",
]

#: Outdoor cues (sky in the top third, greenery anywhere) above this share make a scene outdoor.
OUTDOOR_SHARE = 0.25
#: Below this mean luma step between neighbouring background pixels a background is a plain
#: surface ("wall"); a photo of a room or a street is far busier. [GUESS]
PLAIN_TEXTURE = 2.0
#: Skin share outside faces per explicit-content likelihood step (1 = very unlikely ... 5).
EXPOSURE_STEPS = (0.02, 0.06, 0.12, 0.25)


def sigmoid(x: float) -> float:
    """The logistic function, overflow-safe."""
    if x < -60:
        return 0.0
    return 1.0 / (1.0 + math.exp(-x))


def is_smiling(face: FaceSeen) -> float:
    """Probability the face smiles: mouth curvature (+ corners up), 0.01 per unit of logit."""
    return sigmoid(face.measures.curvature / 0.01)


def is_mouth_open(face: FaceSeen) -> float:
    """Probability the mouth is open: dark rows per mouth column above 6% of the face."""
    return sigmoid((face.measures.mouth_open - 0.06) / 0.01)


def eyes_visible(face: FaceSeen) -> float:
    """Probability both eyes show: non-skin share of the eye band above 4%."""
    return sigmoid((face.measures.eye_open - 0.04) / 0.01)


def frontal(face: FaceSeen) -> float:
    """How directly the face looks at the camera: 1 at 0° yaw and pitch, 0 at 45°."""
    return max(0.0, 1.0 - math.hypot(face.yaw, face.pitch) / 45.0)


@dataclass(frozen=True)
class LabelHit:
    """One label in one sampled frame: a neutral key, a 0..1 score, instance boxes (pixels)."""

    key: str
    score: float
    boxes: tuple[Box, ...] = ()


def frame_labels(frame: SceneFrame, width: int, height: int) -> list[LabelHit]:
    """What a sampled frame shows: people and faces, the setting, and the background colours.

    - ``face``/``person``: from the detected faces (a body is extrapolated below each face);
    - ``outdoor`` (with ``sky``/``plant``) when saturated sky blue fills the top third or
      green the background, else ``indoor``; ``wall`` when an indoor background is plain;
    - one label per background colour covering at least 20% of it.
    """
    hits: list[LabelHit] = []
    if frame.faces:
        prob = sum(f.prob for f in frame.faces) / len(frame.faces)
        faces = tuple(f.box for f in frame.faces)
        bodies = tuple(body_box(f.box, width, height) for f in frame.faces)
        hits.append(LabelHit("person", round(0.97 * prob, 4), bodies))  # inferred body: 0.97
        hits.append(LabelHit("face", round(prob, 4), faces))
    outdoor = max(frame.sky, frame.greenery)
    if outdoor >= OUTDOOR_SHARE:
        hits.append(LabelHit("outdoor", round(0.5 + 0.49 * min(1.0, outdoor / 0.6), 4)))
        if frame.sky >= OUTDOOR_SHARE:
            hits.append(LabelHit("sky", round(0.5 + 0.49 * min(1.0, frame.sky / 0.6), 4)))
        if frame.greenery >= OUTDOOR_SHARE:
            hits.append(LabelHit("plant", round(0.5 + 0.4 * min(1.0, frame.greenery / 0.6), 4)))
    else:
        hits.append(LabelHit("indoor", round(0.5 + 0.3 * (1 - outdoor / OUTDOOR_SHARE), 4)))
        if frame.texture < PLAIN_TEXTURE:
            hits.append(LabelHit("wall", round(0.5 + 0.4 * (1 - frame.texture / PLAIN_TEXTURE), 4)))
    for name, share in sorted(frame.colours.items(), key=lambda kv: (-kv[1], kv[0])):
        if share >= 0.2:
            hits.append(LabelHit(name, round(0.5 + 0.49 * share, 4)))
    return hits


def exposure_level(frame: SceneFrame) -> int:
    """Explicit-content likelihood 1 (very unlikely) .. 5 (very likely) from skin exposure.

    Skin-toned pixels outside the face boxes, as a share of the frame: a clothed person shows
    almost none (hands, neck), nudity a lot. Steps are :data:`EXPOSURE_STEPS` [GUESS].
    """
    return 1 + sum(frame.skin >= step for step in EXPOSURE_STEPS)


def _jitter(before: FaceSeen, after: FaceSeen, gap: float) -> float:
    """How much a face changed between two sightings beyond smooth motion (0 = consistent).

    A real face keeps its size and features from frame to frame; a swapped or generated one
    flickers. Size change, feature change (smile, mouth, eyes) and pose change are summed,
    each scaled by what a real head plausibly does in ``gap`` seconds [GUESS scales].
    """
    a, b = before, after
    size = abs(b.box.w - a.box.w) / max(a.box.w, 1.0) + abs(b.box.h - a.box.h) / max(a.box.h, 1.0)
    features = (
        abs(b.measures.curvature - a.measures.curvature) / 0.05
        + abs(b.measures.mouth_open - a.measures.mouth_open) / 0.1
        + abs(b.measures.eye_open - a.measures.eye_open) / 0.2
    )
    pose = (abs(b.roll - a.roll) + abs(b.yaw - a.yaw)) / 30.0
    per_second = max(gap, 0.1) / 0.25  # sightings further apart may differ more
    return (size / 0.1 + features + pose) / per_second


def deepfake_scores(analysis: SceneAnalysis) -> list[float]:
    """A 0..1 manipulation score per sampled frame from its faces' temporal consistency.

    Each face is compared with its previous sighting (same track, hence same shot); the
    frame scores its worst face. Frames without a compared face score the floor 0.001.
    """
    last: dict[int, tuple[float, FaceSeen]] = {}
    scores = []
    for frame in analysis.frames:
        worst = 0.0
        for face in frame.faces:
            if face.track in last:
                time, seen = last[face.track]
                worst = max(worst, _jitter(seen, face, frame.time - time))
            last[face.track] = (frame.time, face)
        scores.append(round(0.001 + 0.998 * (1.0 - math.exp(-worst / 4.0)), 4))
    return scores


def people_count(analysis: SceneAnalysis) -> int:
    """The most faces seen at once (robust to a track breaking in two)."""
    return max((len(f.faces) for f in analysis.frames), default=0)


# --- questions -----------------------------------------------------------------------------------

_TOPICS: tuple[tuple[str, str], ...] = (
    ("count", r"\bhow many\b|\bnumber of\b|\bcount\b"),
    ("people", r"\bpeople\b|\bpersons?\b|\bfaces?\b|\bhumans?\b|\bm[ae]n\b|\bwom[ae]n\b|\bwho\b"),
    ("colour", r"\bcolou?rs?\b|\bbackground\b"),
    ("duration", r"\bhow long\b|\bduration\b|\blength\b|\bseconds?\b"),
    (
        "mood",
        r"\bsmil\w*|\bhappy\b|\bsad\b|\bemotion\w*|\bexpression\w*|\bmood\b|\bfeel\w*|\bfrown",
    ),
    ("motion", r"\bmov\w*|\bmotion\b|\bdirection\b|\bwhere\b|\bgo(es|ing)?\b"),
    ("shots", r"\bshots?\b|\bcuts?\b|\bscenes?\b"),
    ("audio", r"\baudio\b|\bsound\b|\bmusic\b|\bhear\b|\bnoise\b"),
    ("setting", r"\bindoors?\b|\boutdoors?\b|\binside\b|\boutside\b|\bsetting\b|\bplace\b"),
)


def _number(n: int) -> str:
    words = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    return words[n] if n < len(words) else str(n)


def _seconds(t: float) -> str:
    return f"{t:.1f}".rstrip("0").rstrip(".")


def _tracks(analysis: SceneAnalysis) -> list[list[tuple[SceneFrame, FaceSeen]]]:
    """Face tracks seen at least twice (or once in a one-frame video), left to right."""
    tracks = [t for t in analysis.tracks().values() if len(t) >= min(2, len(analysis.frames))]
    return sorted(tracks, key=lambda t: (t[0][0].time, t[0][1].box.x))


def _where(track: Sequence[tuple[SceneFrame, FaceSeen]], width: int) -> str:
    x = sum(f.box.centre[0] for _, f in track) / len(track)
    return (
        "on the left" if x < width / 3 else "on the right" if x > 2 * width / 3 else "in the middle"
    )


def _motion(track: Sequence[tuple[SceneFrame, FaceSeen]], analysis: SceneAnalysis) -> str:
    """The dominant direction a face travels, or ``stays still`` (under 5% of the frame)."""
    (x0, y0), (x1, y1) = track[0][1].box.centre, track[-1][1].box.centre
    dx, dy = (x1 - x0) / max(analysis.width, 1), (y1 - y0) / max(analysis.height, 1)
    if max(abs(dx), abs(dy)) < 0.05:
        return "stays still"
    if abs(dx) >= abs(dy):
        return "moves from left to right" if dx > 0 else "moves from right to left"
    return "moves down" if dy > 0 else "moves up"


def _mood(track: Sequence[tuple[SceneFrame, FaceSeen]]) -> str:
    smile = sum(is_smiling(f) for _, f in track) / len(track)
    return "smiling" if smile >= 0.6 else "frowning" if smile <= 0.4 else "neutral"


def _background(analysis: SceneAnalysis) -> list[str]:
    """Background colours covering at least 20% on average, most common first."""
    totals: dict[str, float] = {}
    for frame in analysis.frames:
        for name, share in frame.colours.items():
            totals[name] = totals.get(name, 0.0) + share / len(analysis.frames)
    return [n for n, s in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])) if s >= 0.2]


def _sentence(topic: str, analysis: SceneAnalysis) -> str:
    tracks, n = _tracks(analysis), people_count(analysis)
    if topic in ("count", "people"):
        noun = "person" if n == 1 else "people"
        verb = "is" if n == 1 else "are"
        return f"There {verb} {_number(n)} {noun} in the video."
    if topic == "colour":
        colours = _background(analysis) or ["mixed"]
        return f"The background is mostly {' and '.join(colours)}."
    if topic == "duration":
        return f"The video is {_seconds(analysis.duration)} seconds long."
    if topic == "mood":
        if not tracks:
            return "No face is visible, so no expression can be read."
        return " ".join(f"The person {_where(t, analysis.width)} is {_mood(t)}." for t in tracks)
    if topic == "motion":
        if not tracks:
            return "No person is visible to follow."
        return " ".join(
            f"The person {_where(t, analysis.width)} {_motion(t, analysis)}." for t in tracks
        )
    if topic == "shots":
        k = len(analysis.cuts) + 1
        return f"The video has {_number(k)} shot{'s' if k != 1 else ''}."
    if topic == "audio":
        return "It has an audio track." if analysis.has_audio else "It has no audio track."
    outdoor = sum(max(f.sky, f.greenery) >= 0.25 for f in analysis.frames)
    place = "outdoors" if outdoor * 2 > len(analysis.frames) else "indoors"
    return f"The scene appears to be {place}."


def _summary(analysis: SceneAnalysis) -> str:
    """The default answer: length, people with expression and motion, background colours."""
    tracks, n = _tracks(analysis), people_count(analysis)
    colours = _background(analysis) or ["mixed"]
    who = "no people" if n == 0 else f"{_number(n)} {'person' if n == 1 else 'people'}"
    text = (
        f"A {_seconds(analysis.duration)}-second video showing {who} "
        f"against a {' and '.join(colours)} background."
    )
    for t in tracks:
        text += f" The person {_where(t, analysis.width)} is {_mood(t)} and {_motion(t, analysis)}."
    return text


def answer_question(question: str, analysis: SceneAnalysis) -> str:
    """Answer ``question`` about the video from what the analysis measured.

    Each topic the question mentions (counting people, colours, length, expressions, motion,
    shots, audio, setting) adds one sentence, in that order; a question that mentions none
    gets a summary. Deterministic: the same question and video give the same words.
    """
    lowered = question.lower()
    topics = [name for name, pattern in _TOPICS if re.search(pattern, lowered)]
    if "count" in topics and "people" in topics:
        topics.remove("people")
    if not topics:
        return _summary(analysis)
    return " ".join(dict.fromkeys(_sentence(t, analysis) for t in topics))
