"""Small media made in memory for tests that need real bytes but no particular content."""

from __future__ import annotations

import io
import wave


def silent_wav(rate: int = 16_000, frames: int = 1600) -> bytes:
    """A mono 16-bit PCM WAV of ``frames`` silent samples at ``rate`` Hz."""
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(b"\0\0" * frames)
    return out.getvalue()
