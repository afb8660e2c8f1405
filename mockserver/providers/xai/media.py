"""Media that image and video results point at, served by the emulator itself.

A generated image is a deterministic 256x256 PNG whose colours come from a hash of (batch, request,
index): the same request always downloads the same bytes, different requests visibly
differ. A generated video is a bundled sample clip. URLs are relative in stored results and made
absolute with the server's address when rendered (see ``render.absolute_media``).
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from urllib.parse import quote

from ...runtime import SAMPLES_DIR

__all__ = ["MEDIA_PREFIX", "VIDEO_SAMPLE", "image_png", "media_path"]

MEDIA_PREFIX = "/xai-media"
VIDEO_SAMPLE: Path = SAMPLES_DIR / "video" / "face_moving.mp4"
SIZE = 256


def media_path(batch_id: str, request_id: str, index: int, ext: str) -> str:
    return f"{MEDIA_PREFIX}/{quote(batch_id, safe='')}/{quote(request_id, safe='')}/{index}.{ext}"


def image_png(batch_id: str, request_id: str, index: int) -> bytes:
    """A deterministic gradient PNG for one generated image (numpy and Pillow imported here,
    off the server's start-up path)."""
    import numpy as np
    from PIL import Image

    digest = hashlib.sha256(f"{batch_id}\x00{request_id}\x00{index}".encode()).digest()
    a = np.array(list(digest[0:3]), dtype=np.float32)
    b = np.array(list(digest[3:6]), dtype=np.float32)
    t = np.linspace(0.0, 1.0, SIZE, dtype=np.float32)
    ramp = (t[:, None] + t[None, :]) / 2  # diagonal gradient
    pixels = a[None, None, :] * (1 - ramp[..., None]) + b[None, None, :] * ramp[..., None]
    image = Image.fromarray(pixels.astype(np.uint8), "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()
