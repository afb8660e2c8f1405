"""The start-job request: defaults filled in, semantic checks the contract cannot express.

The contract (``contracts/hume.yaml``, ``InferenceBaseRequest``) checks types and ranges first;
this module turns a valid body into the ``request`` echo of the job object, with every default
filled in (``../shared/reference/hume-batch.md`` §4, §6): no ``models`` means all six models, a
model set to ``{}`` runs with its defaults, a missing or ``null`` one does not run, and
``transcription: null`` switches transcription off. Config fields the echo does not know are
dropped, the way the SDK's frozen models would round-trip them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "MODEL_NAMES",
    "MAX_FILES",
    "MAX_URLS",
    "TRANSCRIPT_MODELS",
    "fill_request",
]

MODEL_NAMES: tuple[str, ...] = ("face", "burst", "prosody", "language", "ner", "facemesh")
#: The models that read a transcript of speech.
TRANSCRIPT_MODELS: frozenset[str] = frozenset({"prosody", "language", "ner"})
MAX_URLS = 100
MAX_FILES = 100

_DEFAULTS: dict[str, dict[str, Any]] = {
    "face": {
        "fps_pred": 3.0,
        "prob_threshold": 0.99,
        "identify_faces": False,
        "min_face_size": 60,
        "facs": None,
        "descriptions": None,
        "save_faces": False,
    },
    "burst": {},
    "prosody": {"granularity": "utterance", "window": None, "identify_speakers": False},
    "language": {
        "granularity": "word",
        "sentiment": None,
        "toxicity": None,
        "identify_speakers": False,
    },
    "ner": {"identify_speakers": False},
    "facemesh": {},
}
_TRANSCRIPTION = {"language": None, "identify_speakers": False, "confidence_threshold": 0.5}
_WINDOW = {"length": 4.0, "step": 1.0}


def _filled(defaults: Mapping[str, Any], given: Mapping[str, Any] | None) -> dict[str, Any]:
    given = given or {}
    out = {}
    for key, default in defaults.items():
        value = given.get(key)
        out[key] = default if value is None else value
    return out


def _model(name: str, given: Mapping[str, Any]) -> dict[str, Any]:
    config = _filled(_DEFAULTS[name], given)
    if name == "face":
        config["fps_pred"] = float(config["fps_pred"])
        config["prob_threshold"] = float(config["prob_threshold"])
    if name == "prosody" and config["window"] is not None:
        config["window"] = {k: float(v) for k, v in _filled(_WINDOW, config["window"]).items()}
    return config


def fill_request(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The job's ``request`` echo (without ``files``, which the uploads add)."""
    models_given = raw.get("models")
    if models_given is None:
        models = {name: _model(name, {}) for name in MODEL_NAMES}
    else:
        models = {
            name: _model(name, models_given[name])
            for name in MODEL_NAMES
            if models_given.get(name) is not None
        }
    if "transcription" in raw and raw["transcription"] is None:
        transcription = None
    else:
        transcription = _filled(_TRANSCRIPTION, raw.get("transcription"))
        transcription["confidence_threshold"] = float(transcription["confidence_threshold"])
    return {
        "models": models,
        "transcription": transcription,
        "urls": list(raw.get("urls") or []),
        "text": list(raw.get("text") or []),
        "callback_url": raw.get("callback_url"),
        "notify": bool(raw.get("notify") or False),
    }
