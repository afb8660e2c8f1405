"""Score FACS action units and face descriptions from what was measured on a face.

Hume's face config can ask for ``facs`` and ``descriptions`` (reference ``hume-batch.md`` §4);
each face item then carries one ``{name, score}`` list per option (§7.1). Hume does not
document either label set (§8), so :data:`labels.FACS` and :data:`labels.FACE_DESCRIPTIONS`
are our [GUESS], and so is every mapping below.

The scores come from the same :class:`vision_expr.FaceMeasures` as the 48 expressions, read
as six cues in [0, 1]:

- ``smile`` / ``frown``: the mouth's curvature, up or down (``tanh(±curvature / 0.03)``);
- ``open``: mouth openness, 0 for a line (0.04 of the crop), 1 for a laughing mouth (0.12);
- ``flat``: a closed, straight mouth, ``(1 - open) * (1 - max(smile, frown))``;
- ``closed``: eye openness falling from 0.11 (open eyes read 0.14-0.20) to 0.03;
- ``wide``: eye openness rising past 0.22 to 0.32 (whites showing all round).

A label's score is ``floor + sum(weight * cue) + jitter`` (tables :data:`FACS_WEIGHTS`,
:data:`DESCRIPTION_WEIGHTS`). What drives what, in short: a smile raises AU6, AU11, AU12, AU14
and "Smile", "Laugh", "Smirk", "Squint"; a frown AU4, AU15, AU17 (and a little AU1, AU9,
AU20, AU23, AU24) and "Frown", "Sad", "Chin raise", "Angry", "Scowl"; an open mouth AU25,
AU26, AU27, AU16 and "Mouth open", "Jaw drop"; closed eyes AU43 and "Closed eyes"; wide eyes
AU1, AU2, AU5 and "Wide eyes", "Raised eyebrows", "Surprise". What the measures cannot see
(tongue, puffed cheeks, head pitch, hands, one eye apart from the other, so "Wink") stays at
the floor. The weights are hand-set, not learned.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from .affect import jitter
from .labels import FACE_DESCRIPTIONS, FACS
from .vision_expr import FaceMeasures

__all__ = [
    "DESCRIPTION_WEIGHTS",
    "FACS_WEIGHTS",
    "description_scores",
    "face_cues",
    "facs_scores",
]

_FLOOR = 0.02  # what a label the cues cannot see scores, before jitter
_JITTER = 0.04  # jitter spans [0, _JITTER): the same size as the expressions' (affect.py)

Weights = Mapping[str, Mapping[str, float]]

#: Cue weights per action unit; an absent unit scores the floor.
FACS_WEIGHTS: Weights = {
    "AU1 Inner Brow Raise": {"frown": 0.25, "wide": 0.3},  # sad brows lift at the inner ends
    "AU2 Outer Brow Raise": {"wide": 0.4},
    "AU4 Brow Lowerer": {"frown": 0.45},
    "AU5 Upper Lid Raise": {"wide": 0.6},
    "AU6 Cheek Raise": {"smile": 0.7},
    "AU7 Lids Tight": {"smile": 0.2, "frown": 0.2},
    "AU9 Nose Wrinkle": {"frown": 0.15},
    "AU10 Upper Lip Raiser": {"open": 0.2, "frown": 0.1},
    "AU11 Nasolabial Furrow Deepener": {"smile": 0.2},
    "AU12 Lip Corner Puller": {"smile": 0.85},
    "AU14 Dimpler": {"smile": 0.3},
    "AU15 Lip Corner Depressor": {"frown": 0.85},
    "AU16 Lower Lip Depress": {"open": 0.35},
    "AU17 Chin Raiser": {"frown": 0.6, "flat": 0.1},
    "AU20 Lip Stretch": {"frown": 0.2, "open": 0.1},
    "AU23 Lip Tightener": {"flat": 0.3, "frown": 0.15},
    "AU24 Lip Presser": {"flat": 0.35, "frown": 0.2},
    "AU25 Lips Part": {"open": 0.8},
    "AU26 Jaw Drop": {"open": 0.65},
    "AU27 Mouth Stretch": {"open": 0.4},
    "AU38 Nostril Dilate": {"open": 0.1},
    "AU43 Eye Closure": {"closed": 0.85},
}

#: Cue weights per description; an absent description scores the floor.
DESCRIPTION_WEIGHTS: Weights = {
    "Angry": {"frown": 0.35, "flat": 0.1},
    "Chin raise": {"frown": 0.5},
    "Closed eyes": {"closed": 0.85},
    "Disgust": {"frown": 0.25},
    "Fear": {"wide": 0.3, "open": 0.1},
    "Frown": {"frown": 0.85},
    "Glare": {"frown": 0.2},
    "Jaw drop": {"open": 0.6},
    "Laugh": {"laugh": 0.75},
    "Lip press": {"flat": 0.5},
    "Mouth open": {"open": 0.8},
    "Pout": {"frown": 0.15},
    "Raised eyebrows": {"wide": 0.5},
    "Sad": {"frown": 0.6},
    "Scowl": {"frown": 0.3},
    "Smile": {"smile": 0.85},
    "Smirk": {"smile": 0.2},
    "Squint": {"smile": 0.2},
    "Surprise": {"surprised": 0.7, "open": 0.15},
    "Wide eyes": {"wide": 0.8},
    "Wince": {"frown": 0.15, "closed": 0.2},
}


def _ramp(value: float, low: float, high: float) -> float:
    """0 at ``low``, 1 at ``high``, linear between, clamped (``high < low`` ramps down)."""
    return min(1.0, max(0.0, (value - low) / (high - low)))


def face_cues(m: FaceMeasures) -> dict[str, float]:
    """The cues in [0, 1] the weight tables use (module docstring), plus two products.

    ``laugh`` (smile and open) and ``surprised`` (open mouth and wide eyes) need both cues at
    once, which a weighted sum of single cues cannot express.
    """
    curve = math.tanh(m.curvature / 0.03)
    smile, frown = max(0.0, curve), max(0.0, -curve)
    open_ = _ramp(m.mouth_open, 0.04, 0.12)
    wide = _ramp(m.eye_open, 0.22, 0.32)
    return {
        "smile": smile,
        "frown": frown,
        "open": open_,
        "flat": (1.0 - open_) * (1.0 - max(smile, frown)),
        "closed": _ramp(m.eye_open, 0.11, 0.03),
        "wide": wide,
        "laugh": smile * open_,
        "surprised": wide * open_,
    }


def _scores(m: FaceMeasures, key: int, labels: Sequence[str], weights: Weights) -> dict[str, float]:
    """Every label in order: floor, weighted cues and jitter, clamped to [0, 1]."""
    cues = face_cues(m)
    noise = jitter(key, len(labels)).tolist()
    out = {}
    for label, u in zip(labels, noise, strict=True):
        drive = sum(w * cues[cue] for cue, w in weights.get(label, {}).items())
        out[label] = min(1.0, max(0.0, _FLOOR + drive + _JITTER * (u + 1) / 2))
    return out


def facs_scores(measures: FaceMeasures, key: int) -> dict[str, float]:
    """One score in [0, 1] per :data:`labels.FACS` unit, in that order [GUESS mapping].

    Smile: AU6, AU12 (and AU11, AU14); frown: AU15, AU17, AU4; open mouth: AU25, AU26, AU27,
    AU16; closed eyes: AU43; wide eyes: AU5, AU2, AU1. ``key`` (from :func:`affect.seed_key`)
    picks the small jitter that keeps two similar faces from identical rows.
    """
    return _scores(measures, key, FACS, FACS_WEIGHTS)


def description_scores(measures: FaceMeasures, key: int) -> dict[str, float]:
    """One score in [0, 1] per :data:`labels.FACE_DESCRIPTIONS` name, in order [GUESS mapping].

    Smile: "Smile" (with an open mouth also "Laugh"); frown: "Frown", "Sad", "Chin raise";
    open mouth: "Mouth open", "Jaw drop"; closed eyes: "Closed eyes"; wide eyes: "Wide eyes",
    "Raised eyebrows" ("Surprise" with an open mouth). Hands, gaze and winks are not measured
    and stay near the floor.
    """
    return _scores(measures, key, FACE_DESCRIPTIONS, DESCRIPTION_WEIGHTS)
