"""Frame-level acoustic measurements: level, brightness, pitch, voicing, timbre.

Every later stage (segmentation, prosody, bursts, speakers) reads these per-frame tracks, so a
clip's signal is scanned once. Frames are 25 ms (spectrum and pitch: 40 ms) every 10 ms; frame
``i`` is centred on ``i * 10 ms``. All work is batched tensor arithmetic on the caller's device, in
fixed-size chunks so an hour of audio never needs more than a few tens of MB at once, and each
frame's values depend only on its own samples (chunking cannot change a result).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["GATE_DB", "HOP_S", "Frames", "measure"]

RATE = 16_000
HOP = 160  # 10 ms
HOP_S = HOP / RATE
LEVEL_WIN = 400  # 25 ms for the level
WIN = 640  # 40 ms for spectrum and pitch: two periods at the lowest pitch
N_FFT = 1024  # >= WIN + max lag: the autocorrelation does not wrap around
F0_MIN, F0_MAX = 60.0, 500.0
LAG_MIN, LAG_MAX = int(RATE / F0_MAX), int(RATE / F0_MIN) + 1
N_MELS = 20
CHUNK = 2048  # frames per batch
SILENT_DB = -100.0
GATE_DB = -60.0  # frames quieter than this are never active: no spectrum, no pitch
TINY = 1e-10  # samples this small are zeroed: their products would be slow denormals


@dataclass(frozen=True)
class Frames:
    """Per-frame tracks of one clip, all of length ``n`` and on one device.

    ``db``: RMS level in dBFS; ``centroid``: spectral centroid in Hz (brightness); ``f0``:
    autocorrelation pitch in Hz;
    ``voicing``: the normalised autocorrelation peak in [0, 1] (periodicity; > ~0.5 is voiced);
    ``mel``: ``[n, 20]`` log mel band energies (timbre).
    """

    db: torch.Tensor
    centroid: torch.Tensor
    f0: torch.Tensor
    voicing: torch.Tensor
    mel: torch.Tensor

    @property
    def n(self) -> int:
        """The number of frames."""
        return int(self.db.shape[0])


def measure(samples: torch.Tensor, device: torch.device | str = "cpu") -> Frames:
    """Measure every 10 ms frame of mono 16 kHz ``samples`` on ``device``.

    Only frames louder than :data:`GATE_DB` get a spectrum and a pitch (the others keep zeros
    and ``mel`` -9): pauses cost next to nothing, and no later stage looks at them.
    """
    dev = torch.device(device)
    x = samples.to(dev, torch.float32)
    x = torch.where(x.abs() < TINY, torch.zeros_like(x), x)
    count = x.shape[0] // HOP + 1
    power = F.pad(x * x, (LEVEL_WIN // 2, LEVEL_WIN // 2 + HOP))[None, None]
    ms = F.avg_pool1d(power, LEVEL_WIN, HOP)[0, 0, :count]
    db = (10 * torch.log10(ms + 1e-10)).clamp(min=SILENT_DB)
    out = [torch.zeros(count, device=dev) for _ in range(3)]
    mel = torch.full((count, N_MELS), -9.0, device=dev)
    view = F.pad(x, (WIN // 2, WIN // 2 + HOP)).unfold(0, WIN, HOP)
    loud = torch.nonzero(db > GATE_DB).flatten()
    for i in range(0, loud.numel(), CHUNK):
        idx = loud[i : i + CHUNK]
        values = _analyse(view[idx])
        for track, value in zip(out, values[:3], strict=True):
            track[idx] = value
        mel[idx] = values[3]
    centroid, f0, voicing = out
    return Frames(db, centroid, f0, voicing, mel)


@functools.lru_cache(maxsize=8)
def _tables(device: torch.device) -> tuple[torch.Tensor, ...]:
    """The window, the projections of a power spectrum, and the window's autocorrelation.

    One matrix product turns a power spectrum into 20 mel energies plus the two sums the
    centroid needs (power times frequency, and power, over 50 Hz-7 kHz).
    """
    win = torch.hann_window(WIN, periodic=False, dtype=torch.float32, device=device)
    freqs = torch.fft.rfftfreq(N_FFT, 1 / RATE, device=device)
    band = ((freqs >= 50) & (freqs <= 7000)).to(torch.float32)
    project = torch.cat([_mel_bank(freqs), (freqs * band)[:, None], band[:, None]], dim=1)
    wac = torch.fft.irfft(_power(torch.fft.rfft(win, N_FFT)), N_FFT)[: LAG_MAX + 2]
    return win, project, wac / wac[0]


def _power(spectrum: torch.Tensor) -> torch.Tensor:
    """|X|^2, without the slower complex ``abs``."""
    return spectrum.real.square() + spectrum.imag.square()


def _mel_bank(freqs: torch.Tensor) -> torch.Tensor:
    """``[bins, 20]`` triangular mel filters between 100 Hz and 7 kHz."""

    def mel(f: float) -> float:
        return 2595 * math.log10(1 + f / 700)

    lo, hi = mel(100.0), mel(7000.0)
    edges = [
        700 * (10 ** ((lo + (hi - lo) * i / (N_MELS + 1)) / 2595) - 1) for i in range(N_MELS + 2)
    ]
    e = torch.tensor(edges, dtype=torch.float32, device=freqs.device)
    f = freqs[:, None]
    up = (f - e[None, :-2]) / (e[1:-1] - e[:-2])
    down = (e[None, 2:] - f) / (e[2:] - e[1:-1])
    return torch.clamp(torch.minimum(up, down), min=0.0)


def _analyse(frames: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Centroid, pitch, voicing and log mel energies of a batch of frames.

    One FFT serves both: the power spectrum gives the spectral shape, and its inverse the
    autocorrelation for the pitch.
    """
    win, project, wac = _tables(frames.device)
    x = (frames - frames.mean(-1, keepdim=True)) * win
    power = _power(torch.fft.rfft(x, N_FFT))
    sums = power @ project
    centroid = sums[:, N_MELS] / (sums[:, N_MELS + 1] + 1e-12)
    mel = torch.log10(sums[:, :N_MELS] + 1e-9)
    ac = torch.fft.irfft(power, N_FFT)[:, : LAG_MAX + 2]
    f0, voicing = _pitch(ac / (ac[:, :1] + 1e-9) / wac.clamp(min=1e-3))
    return centroid, f0, voicing, mel


def _pitch(r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pitch (Hz) and voicing strength from normalised autocorrelations (Boersma 1993).

    ``r`` is the frame's autocorrelation divided by the window's own, which removes the taper's
    bias towards short lags. Of the peaks within 85% of the best one the shortest lag wins, so
    a period's multiples (sub-octave errors) lose to the period itself.
    """
    mid = r[:, LAG_MIN : LAG_MAX + 1]
    left, right = r[:, LAG_MIN - 1 : LAG_MAX], r[:, LAG_MIN + 1 : LAG_MAX + 2]
    peak = (mid >= left) & (mid >= right)
    best = torch.where(peak, mid, torch.zeros_like(mid)).amax(-1, keepdim=True)
    pick = (peak & (mid >= 0.85 * best) & (best > 0)).to(torch.uint8).argmax(-1, keepdim=True)
    y0, y1, y2 = left.gather(1, pick), mid.gather(1, pick), right.gather(1, pick)
    denom = y0 - 2 * y1 + y2
    shift = torch.where(denom.abs() > 1e-6, 0.5 * (y0 - y2) / denom, torch.zeros_like(denom))
    lag = (pick + LAG_MIN).to(torch.float32) + shift.clamp(-0.5, 0.5)
    voicing = y1.clamp(0.0, 1.0).squeeze(-1)
    return (RATE / lag).squeeze(-1), voicing
