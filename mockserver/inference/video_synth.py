"""Synthesise a short H.264 MP4 from a text prompt, for Eden AI's ``video/generation_async``.

No generative model is available to the emulator, so the clip is a drawing the prompt steers:
colour words (and a few scene words: "sunset", "ocean", "forest", ...) pick the background
gradient and the subject's colour, shape words ("ball", "box", "car", ...) the subject, and
direction words ("left", "rising", ...) its motion; whatever the prompt leaves open comes from
a hash of the prompt and the seed. The same prompt, seed, size, length and frame rate give
the same bytes (libx264 single-threaded with ``+bitexact``, as ``fixtures/make_vision.py``).
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass

import av
import numpy as np

__all__ = ["MAX_FPS", "MAX_SECONDS", "MAX_SIDE", "ClipPlan", "output_size", "plan", "synthesize"]

#: Generated clips are capped (the real providers make 4-10 s; the emulator keeps it cheap).
MAX_SECONDS = 6
MAX_FPS = 30
#: The longer side of the generated frame, in pixels; the other follows the asked aspect.
MAX_SIDE = 320

RGB = tuple[int, int, int]
_COLOURS: dict[str, RGB] = {
    "red": (200, 40, 40),
    "orange": (240, 140, 30),
    "yellow": (240, 210, 50),
    "green": (50, 160, 70),
    "blue": (40, 90, 200),
    "purple": (130, 60, 170),
    "pink": (235, 120, 170),
    "white": (240, 240, 240),
    "black": (20, 20, 24),
    "gray": (128, 128, 128),
    "grey": (128, 128, 128),
    "brown": (120, 80, 40),
}
_SCENES: dict[str, tuple[str, str]] = {
    "sunset": ("orange", "purple"),
    "sunrise": ("pink", "yellow"),
    "ocean": ("blue", "teal"),
    "sea": ("blue", "teal"),
    "sky": ("blue", "white"),
    "forest": ("green", "brown"),
    "grass": ("green", "yellow"),
    "night": ("black", "blue"),
    "snow": ("white", "gray"),
    "fire": ("red", "orange"),
    "desert": ("yellow", "orange"),
    "sand": ("yellow", "brown"),
}
_SHAPES = {
    "circle": ("ball", "sun", "moon", "circle", "planet", "bubble", "orb", "wheel"),
    "square": ("box", "cube", "square", "building", "block", "house", "tower"),
    "wide": ("car", "bus", "train", "boat", "ship", "truck", "vehicle"),
}
_DIRECTIONS = {
    "right": ("right", "east", "forward"),
    "left": ("left", "west", "backward"),
    "up": ("up", "rising", "rises", "rise", "fly", "flying", "launch"),
    "down": ("down", "falling", "falls", "fall", "sinking", "drop"),
}


@dataclass(frozen=True)
class ClipPlan:
    """What the clip shows: background gradient, subject shape/colour, motion direction."""

    top: RGB
    bottom: RGB
    shape: str
    colour: RGB
    direction: str


def output_size(dimension: str) -> tuple[int, int]:
    """The frame size for an asked ``"WxH"``: its aspect, longer side :data:`MAX_SIDE`, even.

    A malformed dimension falls back to 16:9 (Eden's default ``1280x720``).
    """
    match = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", dimension or "")
    w, h = (int(match[1]), int(match[2])) if match else (1280, 720)
    w, h = max(w, 1), max(h, 1)
    scale = MAX_SIDE / max(w, h)
    even = [max(16, 2 * round(side * scale / 2)) for side in (w, h)]
    return even[0], even[1]


def _hash(prompt: str, seed: int) -> bytes:
    return hashlib.blake2b(f"{seed}\x00{prompt}".encode(), digest_size=16).digest()


def _colour(name: str) -> RGB:
    return _COLOURS.get(name, (40, 150, 150))  # teal and anything unnamed


def plan(prompt: str, seed: int) -> ClipPlan:
    """Read colours, shape and direction words from the prompt; fill the rest from a hash."""
    words = re.findall(r"[a-z]+", prompt.lower())
    digest = _hash(prompt, seed)
    named = [w for w in words if w in _COLOURS]
    scene = next((_SCENES[w] for w in words if w in _SCENES), None)
    if scene is not None:
        top, bottom = _colour(scene[0]), _colour(scene[1])
    else:
        top = tuple(60 + digest[i] % 150 for i in range(3))  # type: ignore[assignment]
        bottom = tuple(30 + digest[3 + i] % 120 for i in range(3))  # type: ignore[assignment]
    subject = _colour(named[0]) if named else tuple(digest[6 + i] for i in range(3))
    shape = next((s for s, keys in _SHAPES.items() if any(w in keys for w in words)), None)
    direction = next((d for d, keys in _DIRECTIONS.items() if any(w in keys for w in words)), None)
    return ClipPlan(
        top=top,
        bottom=bottom,
        shape=shape or sorted(_SHAPES)[digest[9] % len(_SHAPES)],
        colour=subject,  # type: ignore[arg-type]
        direction=direction or sorted(_DIRECTIONS)[digest[10] % len(_DIRECTIONS)],
    )


def _frame(p: ClipPlan, width: int, height: int, u: float) -> np.ndarray:
    """Frame at progress ``u`` (0..1): the gradient, then the subject along its path."""
    y = np.linspace(0.0, 1.0, height)[:, None, None]
    top, bottom = np.array(p.top, dtype=np.float64), np.array(p.bottom, dtype=np.float64)
    image = np.broadcast_to(top + (bottom - top) * y, (height, width, 3)).copy()
    size = 0.28 * min(width, height)
    travel = {"right": (u, 0.5), "left": (1 - u, 0.5), "down": (0.5, u), "up": (0.5, 1 - u)}
    fx, fy = travel[p.direction]
    cx = size / 2 + fx * (width - size)
    cy = size / 2 + fy * (height - size)
    ys, xs = np.mgrid[0:height, 0:width]
    if p.shape == "circle":
        mask = (xs - cx) ** 2 + (ys - cy) ** 2 <= (size / 2) ** 2
    else:
        half_w = size if p.shape == "wide" else size / 2
        mask = (np.abs(xs - cx) <= half_w) & (np.abs(ys - cy) <= size / 2)
    image[mask] = p.colour
    pixels: np.ndarray = np.round(image).astype(np.uint8)
    return pixels


def synthesize(
    prompt: str, *, seed: int, duration: int, fps: int, dimension: str
) -> tuple[bytes, int, int]:
    """The clip as MP4 bytes, with its frame width and height.

    ``duration`` (seconds) and ``fps`` are clamped to 1..:data:`MAX_SECONDS` and
    1..:data:`MAX_FPS`; the clip has exactly ``duration * fps`` frames at ``fps``.
    """
    seconds = max(1, min(MAX_SECONDS, int(duration)))
    rate = max(1, min(MAX_FPS, int(fps)))
    width, height = output_size(dimension)
    p, frames = plan(prompt, seed), seconds * rate
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4", options={"fflags": "+bitexact"}) as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.thread_count = 1
        stream.options = {"crf": "28", "preset": "veryfast", "flags": "+bitexact", "threads": "1"}
        for i in range(frames):
            u = i / max(1, frames - 1)
            frame = av.VideoFrame.from_ndarray(_frame(p, width, height, u), format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return buf.getvalue(), width, height
