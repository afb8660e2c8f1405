"""One pass over a video for the Eden AI video subfeatures: faces, people, colours and shots.

The Eden AI v2 video analyses (label, face, person, object, explicit content, shot change,
question answering, deepfake; ``shared/reference/edenai-async.md`` §2, §4) all read the same
things off the pixels, so one decode serves them all:

- every decoded frame (or 10 per second for clips over :data:`MAX_HIST_FRAMES` frames) gives a
  64-bin colour histogram; a large jump between neighbours is a hard cut (:attr:`cuts`);
- every ``1 / sample_fps`` seconds a frame is *sampled*: faces come from the skin-blob detector
  of :mod:`faces` (tracked by :class:`vision_track.FaceTracker`), each measured for smile, mouth
  and eye openness (:mod:`vision_expr`), landmarks, pose, brightness and sharpness; the rest of
  the frame (people's bodies masked out) gives colour shares, and skin-toned pixels outside the
  faces give a skin-exposure share.

Every number is read from the pixels; the same bytes give the same :class:`SceneAnalysis`.
Tensors stay small (strided views of about 20,000 pixels), per :mod:`vision_blobs`.
Cost for a 2.5 s 640x480 clip: about 0.4 s on one core (decoding 75 frames is 0.15 s).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import av
import numpy as np
import torch

from .faces import CROP, Box, Detection, detect_faces
from .vision_blobs import planes, skin_mask
from .vision_decode import MAX_VIDEO_SECONDS, Frame, VideoDecodeError, video_frames
from .vision_expr import FaceMeasures, measure_face
from .vision_track import FaceTracker

__all__ = [
    "COLOURS",
    "COLOUR_NAMES",
    "DEFAULT_SAMPLE_FPS",
    "MAX_HIST_FRAMES",
    "FaceSeen",
    "SceneAnalysis",
    "SceneFrame",
    "VideoDecodeError",
    "analyse_scene",
    "body_box",
    "colour_codes",
]

#: Frames per second analysed for faces and colours (the brief's 2-5; Rekognition samples
#: at a similar rate [GUESS]).
DEFAULT_SAMPLE_FPS = 4.0
#: Above this many frames the histogram pass samples 10 frames per second, not every frame.
MAX_HIST_FRAMES = 1800
#: Half the L1 distance between neighbouring frames' colour histograms that counts as a cut:
#: a moving face changes ~1% of the histogram, a new scene more than half of it.
CUT_THRESHOLD = 0.35
#: The detector's face probability a face needs (Hume's default; clear faces score 0.9999).
PROB_THRESHOLD = 0.99
MIN_FACE_SIZE = 40
#: Colour names for background shares, by hue range in degrees (saturated pixels only).
COLOURS: tuple[tuple[str, float, float], ...] = (
    ("red", 0, 15),
    ("orange", 15, 45),
    ("yellow", 45, 70),
    ("green", 70, 165),
    ("teal", 165, 195),
    ("blue", 195, 255),
    ("purple", 255, 290),
    ("pink", 290, 345),
    ("red", 345, 361),
)
_BINS = 4  # histogram levels per channel: 64 bins
_SHIFT = 6  # 256 levels >> 6 = 4 levels


@dataclass(frozen=True)
class FaceSeen:
    """One face in one sampled frame, with everything the video features report about it.

    Landmarks are pixel ``(x, y)`` points: eye centres and mouth corners are measured from the
    dark features of the face crop; the nose is placed between the eyes and the mouth (the
    cartoon noses are skin-shaded, so it is inferred, not seen). Pose angles are degrees read
    from the landmarks; brightness and sharpness are 0..1.
    """

    track: int
    box: Box
    prob: float
    measures: FaceMeasures
    landmarks: dict[str, tuple[float, float]]
    pitch: float
    roll: float
    yaw: float
    brightness: float
    sharpness: float


@dataclass(frozen=True)
class SceneFrame:
    """A sampled frame: its faces and what the rest of the picture looks like."""

    index: int
    time: float
    faces: list[FaceSeen]
    #: Share of background pixels (people masked out) per colour name (:data:`COLOUR_NAMES`).
    colours: dict[str, float]
    #: Share of saturated sky-blue bright pixels in the top third (an outdoor cue).
    sky: float
    #: Share of green pixels in the whole background (vegetation, an outdoor cue).
    greenery: float
    #: Mean absolute luma step between neighbouring background pixels, 0..255 (texture).
    texture: float
    #: Skin-toned pixels outside the face boxes, as a share of the frame (exposure).
    skin: float
    #: Mean luma 0..1.
    luma: float
    #: Person colour below each face (its collar/top): track -> (colour name, share).
    clothes: dict[int, tuple[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class SceneAnalysis:
    """Sampled frames, hard cuts, and what the container says about the video."""

    frames: list[SceneFrame]
    #: Times (seconds) of the first frame of each shot after the first.
    cuts: list[float]
    #: Largest histogram distance seen between neighbouring frames that was not a cut.
    calm: float
    duration: float
    fps: float
    width: int
    height: int
    has_audio: bool
    codec: str
    container: str
    last_frame: float
    truncated: bool = False

    def shots(self) -> list[tuple[float, float]]:
        """``(start, end)`` per shot; a shot ends one frame before the next one starts."""
        starts = [0.0, *self.cuts]
        step = 1.0 / self.fps if self.fps > 0 else 0.0
        ends = [max(s, c - step) for s, c in zip(starts, starts[1:], strict=False)]
        ends.append(max(starts[-1], self.last_frame))
        return list(zip(starts, ends, strict=True))

    def tracks(self) -> dict[int, list[tuple[SceneFrame, FaceSeen]]]:
        """Each face track's sightings in time order."""
        out: dict[int, list[tuple[SceneFrame, FaceSeen]]] = {}
        for frame in self.frames:
            for face in frame.faces:
                out.setdefault(face.track, []).append((frame, face))
        return out


def body_box(face: Box, width: int, height: int) -> Box:
    """A person's box from their face: twice as wide, from the hair to 3.5 face heights below.

    An extrapolation (about 7.5 heads make a body; a frame usually cuts it) clipped to the frame.
    """
    left = max(0.0, face.x - 0.5 * face.w)
    right = min(float(width), face.x + 1.5 * face.w)
    top = max(0.0, face.y - 0.15 * face.h)
    bottom = min(float(height), face.y + 4.5 * face.h)
    return Box(left, top, max(0.0, right - left), max(0.0, bottom - top))


#: Every name :func:`colour_codes` can give, by code.
COLOUR_NAMES: tuple[str, ...] = ("black", "white", "gray", *(name for name, _, _ in COLOURS))


def colour_codes(hue: torch.Tensor, sat: torch.Tensor, val: torch.Tensor) -> torch.Tensor:
    """An index into :data:`COLOUR_NAMES` per pixel: black/white/gray by value and
    saturation, else the hue range of :data:`COLOURS`."""
    code = torch.full_like(hue, 3, dtype=torch.long)
    for i, (_, low, high) in enumerate(COLOURS):
        code = torch.where((hue >= low) & (hue < high), torch.full_like(code, 3 + i), code)
    grey = torch.where(val > 0.85, torch.ones_like(code), torch.full_like(code, 2))
    code = torch.where(sat < 0.15, grey, code)
    return torch.where(val < 0.18, torch.zeros_like(code), code)


def _shares(codes: torch.Tensor) -> dict[str, float]:
    """Share of each colour name among ``codes`` (names that occur only), by name."""
    if codes.numel() == 0:
        return {}
    counts = torch.bincount(codes, minlength=len(COLOUR_NAMES)).tolist()
    out: dict[str, float] = {}
    for name, count in zip(COLOUR_NAMES, counts, strict=True):
        if count:
            out[name] = out.get(name, 0.0) + count / codes.numel()
    return out


def _hsv(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hue in degrees, saturation and value 0..1 of an ``[N, 3]`` float RGB (0..255) tensor."""
    rgb = rgb / 255.0
    top, _ = rgb.max(1)
    low, _ = rgb.min(1)
    span = (top - low).clamp(min=1e-6)
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    hue = torch.where(
        top == r,
        ((g - b) / span) % 6,
        torch.where(top == g, (b - r) / span + 2, (r - g) / span + 4),
    )
    sat = torch.where(top > 0, (top - low) / top.clamp(min=1e-6), torch.zeros_like(top))
    return hue * 60.0, sat, top


def _histogram(pixels: torch.Tensor) -> np.ndarray:
    """A normalised 64-bin RGB histogram of a strided view (about 20,000 pixels).

    NumPy, not torch: a strided uint8 copy and a bincount cost ~0.3 ms there, ~15 ms in torch
    on a busy 2-core host.
    """
    step = max(1, round(math.sqrt(pixels.shape[0] * pixels.shape[1] / 20_000)))
    view = pixels.cpu().numpy()[::step, ::step] >> _SHIFT
    codes = (view[..., 0].astype(np.int64) * _BINS + view[..., 1]) * _BINS + view[..., 2]
    counts = np.bincount(codes.ravel(), minlength=_BINS**3).astype(np.float64)
    normalised: np.ndarray = counts / counts.sum()
    return normalised


def _centroid(mask: torch.Tensor, rows: slice, cols: slice) -> tuple[float, float] | None:
    """Mean (x, y) in crop pixels of the set cells of a crop band, or None when empty."""
    ys, xs = torch.nonzero(mask[rows, cols], as_tuple=True)
    if ys.numel() == 0:
        return None
    return float(xs.float().mean()) + (cols.start or 0), float(ys.float().mean()) + (
        rows.start or 0
    )


def _face_points(det: Detection) -> dict[str, tuple[float, float]]:
    """Eyes, mouth corners and nose of a detection, in frame pixels (see :class:`FaceSeen`)."""
    dark, half = det.crop.dark, CROP // 2
    eye_rows = slice(round(0.33 * CROP), round(0.52 * CROP))
    left = _centroid(dark, eye_rows, slice(0, half)) or (0.3 * CROP, 0.42 * CROP)
    right = _centroid(dark, eye_rows, slice(half, CROP)) or (0.7 * CROP, 0.42 * CROP)
    mouth_rows = slice(round(0.58 * CROP), round(0.95 * CROP))
    ys, xs = torch.nonzero(dark[mouth_rows, round(0.15 * CROP) : round(0.85 * CROP)], as_tuple=True)
    if xs.numel():
        x0, x1 = int(xs.min()), int(xs.max())
        offset_x, offset_y = round(0.15 * CROP), mouth_rows.start
        y0 = float(ys[xs == x0].float().mean())
        y1 = float(ys[xs == x1].float().mean())
        m_left = (float(x0 + offset_x), y0 + offset_y)
        m_right = (float(x1 + offset_x), y1 + offset_y)
    else:
        m_left, m_right = (0.35 * CROP, 0.75 * CROP), (0.65 * CROP, 0.75 * CROP)
    mouth_y = (m_left[1] + m_right[1]) / 2
    nose = ((left[0] + right[0]) / 2, (left[1] + right[1]) / 2 * 0.4 + mouth_y * 0.6)
    box = det.box
    points = {
        "eye_left": left,
        "eye_right": right,
        "nose": nose,
        "mouth_left": m_left,
        "mouth_right": m_right,
    }
    return {
        name: (box.x + (x + 0.5) / CROP * box.w, box.y + (y + 0.5) / CROP * box.h)
        for name, (x, y) in points.items()
    }


def _pose(box: Box, points: dict[str, tuple[float, float]]) -> tuple[float, float, float]:
    """Pitch, roll, yaw in degrees from where the eyes sit in the face box.

    Roll is the eye line's tilt; yaw how far the eyes' midpoint is off the box centre (45°
    at a quarter box width, [GUESS] scale); pitch how far the eyes are from 42% of the box
    height, where a frontal face has them (20° per tenth of the height, [GUESS] scale).
    """
    (lx, ly), (rx, ry) = points["eye_left"], points["eye_right"]
    roll = math.degrees(math.atan2(ry - ly, max(1e-6, rx - lx)))
    mid_x, mid_y = (lx + rx) / 2, (ly + ry) / 2
    yaw = 45.0 * ((mid_x - (box.x + box.w / 2)) / max(1e-6, box.w / 4))
    pitch = 20.0 * (((mid_y - box.y) / max(1e-6, box.h)) - 0.42) / 0.1
    return pitch, roll, max(-90.0, min(90.0, yaw))


def _quality(det: Detection) -> tuple[float, float]:
    """Brightness (mean skin luma, 0..1) and sharpness (edge strength, 0..1) of a face crop."""
    crop = det.crop
    skin = crop.skin.float()
    brightness = float((crop.luma * skin).sum() / skin.sum().clamp(min=1.0)) / 255.0
    dx = (crop.luma[:, 1:] - crop.luma[:, :-1]).abs().mean()
    dy = (crop.luma[1:, :] - crop.luma[:-1, :]).abs().mean()
    sharpness = 1.0 - math.exp(-float(dx + dy) / 10.0)
    return max(0.0, min(1.0, brightness)), sharpness


class _ShotTracker:
    """Track numbers that never continue across a hard cut: a new shot starts new tracks.

    Position is the only identity cue (:mod:`vision_track`), and a face at the same place
    after a cut is usually someone else; numbers keep counting up across shots.
    """

    def __init__(self) -> None:
        self._tracker, self._base, self._next = FaceTracker(), 0, 0

    def cut(self) -> None:
        self._tracker, self._base = FaceTracker(), self._next

    def update(self, time: float, boxes: Sequence[Box]) -> list[int]:
        numbers = [self._base + n for n in self._tracker.update(time, boxes)]
        self._next = max([self._next, *(n + 1 for n in numbers)])
        return numbers


def _faces(frame: Frame, tracker: _ShotTracker, device: torch.device | str) -> list[FaceSeen]:
    """Detect, track and measure the faces of one sampled frame, left to right."""
    found = detect_faces(frame.image, min_face_size=MIN_FACE_SIZE, device=device)
    kept = [d for d in found if d.prob >= PROB_THRESHOLD]
    numbers = tracker.update(frame.time, [d.box for d in kept])
    out = []
    for det, number in zip(kept, numbers, strict=True):
        points = _face_points(det)
        pitch, roll, yaw = _pose(det.box, points)
        brightness, sharpness = _quality(det)
        out.append(
            FaceSeen(
                number,
                det.box,
                det.prob,
                measure_face(det.crop),
                points,
                pitch,
                roll,
                yaw,
                brightness,
                sharpness,
            )  # fmt: skip
        )
    return out


def _stats(
    pixels: torch.Tensor, faces: Sequence[FaceSeen]
) -> tuple[dict[str, float], float, float, float, float, float, dict[int, tuple[str, float]]]:
    """Background colour shares, sky, greenery, texture, skin exposure, luma and clothes."""
    height, width = int(pixels.shape[0]), int(pixels.shape[1])
    step = max(1, round(math.sqrt(height * width / 20_000)))
    grid = pixels[::step, ::step].float()
    gh, gw = int(grid.shape[0]), int(grid.shape[1])
    rgb = grid.reshape(-1, 3)
    hue, sat, val = _hsv(rgb)
    people = torch.zeros(gh, gw, dtype=torch.bool)
    faces_mask = torch.zeros(gh, gw, dtype=torch.bool)
    for face in faces:
        body = body_box(face.box, width, height)
        people[_rows(body, step, gh), _cols(body, step, gw)] = True
        faces_mask[_rows(face.box, step, gh), _cols(face.box, step, gw)] = True
    background = ~people.reshape(-1)
    codes = colour_codes(hue, sat, val)
    colours = _shares(codes[background])
    top = torch.zeros(gh, gw, dtype=torch.bool)
    top[: gh // 3] = True
    top_bg = (top & ~people).reshape(-1)
    sky_px = top_bg & (hue >= 190) & (hue < 235) & (sat > 0.3) & (val > 0.6)
    sky = float(sky_px.sum()) / max(1, int(top_bg.sum()))
    greenery = colours.get("green", 0.0)
    luma = grid[..., 0] * 0.299 + grid[..., 1] * 0.587 + grid[..., 2] * 0.114
    steps = (luma[:, 1:] - luma[:, :-1]).abs()
    bg_steps = steps[~people[:, 1:] & ~people[:, :-1]]
    texture = float(bg_steps.mean()) if bg_steps.numel() else 0.0
    skin = skin_mask(planes(pixels[::step, ::step])) & ~faces_mask
    exposure = float(skin.float().mean())
    return (
        {k: round(v, 4) for k, v in sorted(colours.items())},
        sky,
        greenery,
        texture,
        exposure,
        float(luma.mean()) / 255.0,
        _clothes(codes, faces, step, gh, gw),
    )


def _clothes(
    codes: torch.Tensor,
    faces: Sequence[FaceSeen],
    step: int,
    gh: int,
    gw: int,
) -> dict[int, tuple[str, float]]:
    """The dominant colour of the band just below each face (the collar or top) and its share."""
    out: dict[int, tuple[str, float]] = {}
    for face in faces:
        b = face.box
        band = Box(b.x + 0.2 * b.w, b.y + 1.02 * b.h, 0.6 * b.w, 0.25 * b.h)
        mask = torch.zeros(gh, gw, dtype=torch.bool)
        mask[_rows(band, step, gh), _cols(band, step, gw)] = True
        flat = mask.reshape(-1)
        if not bool(flat.any()):
            continue
        shares = _shares(codes[flat])
        best = max(sorted(shares), key=lambda name: shares[name])
        out[face.track] = (best, shares[best])
    return out


def _rows(box: Box, step: int, limit: int) -> slice:
    return slice(max(0, int(box.y // step)), min(limit, math.ceil((box.y + box.h) / step)))


def _cols(box: Box, step: int, limit: int) -> slice:
    return slice(max(0, int(box.x // step)), min(limit, math.ceil((box.x + box.w) / step)))


def _container(data: bytes) -> tuple[str, str, float]:
    """Codec name, container format name and an estimate of the frame count, from headers."""
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                raise VideoDecodeError("no video stream in the file")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            seconds = container.duration / av.time_base if container.duration else 0.0
            estimate = stream.frames or (float(rate) * seconds if rate else 0.0)
            return str(stream.codec_context.name), str(container.format.name), float(estimate)
    except (av.FFmpegError, OSError, ValueError) as exc:
        if isinstance(exc, VideoDecodeError):
            raise
        raise VideoDecodeError(f"not a decodable video: {exc}") from None


@torch.inference_mode()
def analyse_scene(
    data: bytes,
    *,
    sample_fps: float = DEFAULT_SAMPLE_FPS,
    device: torch.device | str = "cpu",
    max_seconds: float = MAX_VIDEO_SECONDS,
) -> SceneAnalysis:
    """Decode ``data`` once: histogram every frame for cuts, analyse ``sample_fps`` frames.

    Raises :class:`VideoDecodeError` (a ``ValueError``) for bytes that are not a video.
    """
    if not data:
        raise VideoDecodeError("empty file: no video data")
    codec, fmt, count = _container(data)
    hist_fps = 0.0 if count <= MAX_HIST_FRAMES else 10.0
    step = 1.0 / sample_fps
    tracker, frames, cuts = _ShotTracker(), [], []
    calm, next_sample, last = 0.0, 0.0, 0.0
    previous: np.ndarray | None = None
    with video_frames(data, fps_pred=hist_fps, max_seconds=max_seconds, max_frames=6000) as vf:
        for frame in vf:
            last = frame.time
            hist, is_cut = _histogram(frame.image.pixels), False
            if previous is not None:
                distance = float(np.abs(hist - previous).sum()) / 2
                is_cut = distance >= CUT_THRESHOLD
                if is_cut:  # a new shot: new tracks, and its first frame is sampled
                    cuts.append(round(frame.time, 6))
                    tracker.cut()
                else:
                    calm = max(calm, distance)
            previous = hist
            if frame.time + 1e-6 < next_sample and not is_cut:
                continue
            next_sample = (math.floor(frame.time / step + 1e-6) + 1) * step
            faces = _faces(frame, tracker, device)
            colours, sky, green, texture, skin, luma, clothes = _stats(frame.image.pixels, faces)
            frames.append(
                SceneFrame(
                    frame.index,
                    frame.time,
                    faces,
                    colours,
                    sky,
                    green,
                    texture,
                    skin,
                    luma,
                    clothes,
                )  # fmt: skip
            )
        info, truncated = vf.info, vf.truncated
    return SceneAnalysis(
        frames=frames,
        cuts=cuts,
        calm=calm,
        duration=info.duration or last,
        fps=info.fps,
        width=info.width,
        height=info.height,
        has_audio=info.has_audio,
        codec=codec,
        container=fmt,
        last_frame=last,
        truncated=truncated,
    )
