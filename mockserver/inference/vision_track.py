"""Give the faces of successive video frames stable track numbers (``face_0``, ``face_1``, ...).

Hume names faces ``face_0``, ``face_1``, ... when ``identify_faces`` is on (reference §7). With
no appearance model to hand, identity is continuity of position: a face in this frame takes the
track of the face in an earlier frame whose box overlaps it most or whose centre is nearest
(within one box size). Matching is greedy on a fixed order, so the same frames always give the
same numbers. A track not seen for ``max_gap`` seconds is retired; a face that returns later
gets a new number (there is no re-identification).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .faces import Box

__all__ = ["FaceTracker", "match_score"]


@dataclass
class _Track:
    number: int
    box: Box
    seen: float


def match_score(old: Box, new: Box) -> float:
    """How well ``new`` continues ``old``: IoU plus centre closeness; 0 means no match."""
    (ox, oy), (nx, ny) = old.centre, new.centre
    reach = max(old.w, old.h, new.w, new.h)
    closeness = max(0.0, 1.0 - math.hypot(nx - ox, ny - oy) / reach) if reach > 0 else 0.0
    iou = old.iou(new)
    return iou + closeness if (iou > 0 or closeness > 0) else 0.0


class FaceTracker:
    """Assign track numbers to each frame's boxes, in time order."""

    def __init__(self, max_gap: float = 2.0) -> None:
        self.max_gap = max_gap
        self._tracks: list[_Track] = []
        self._next = 0

    def update(self, time: float, boxes: Sequence[Box]) -> list[int]:
        """Track numbers for ``boxes`` (one per box, in order) seen at ``time`` seconds."""
        self._tracks = [t for t in self._tracks if time - t.seen <= self.max_gap]
        pairs = [
            (score, ti, bi)
            for ti, track in enumerate(self._tracks)
            for bi, box in enumerate(boxes)
            if (score := match_score(track.box, box)) > 0
        ]
        pairs.sort(key=lambda p: (-p[0], self._tracks[p[1]].number, p[2]))
        numbers: list[int | None] = [None] * len(boxes)
        taken: set[int] = set()
        for _, ti, bi in pairs:
            if ti in taken or numbers[bi] is not None:
                continue
            taken.add(ti)
            numbers[bi] = self._tracks[ti].number
            self._tracks[ti].box, self._tracks[ti].seen = boxes[bi], time
        for bi, box in enumerate(boxes):
            if numbers[bi] is None:
                numbers[bi] = self._next
                self._tracks.append(_Track(self._next, box, time))
                self._next += 1
        return [n for n in numbers if n is not None]
