"""Result builders per subfeature: ``builder("audio/speech_to_text_async")``.

Modules are imported on first use: they pull in torch and the media decoders, which the
server's start-up path must not pay for.
"""

from __future__ import annotations

import importlib

from .base import Builder, Call, FeatureError, Input, Output, ResourceSink

__all__ = ["Builder", "Call", "FeatureError", "Input", "Output", "ResourceSink", "builder"]

#: feature -> module under this package that exports ``BUILDERS: dict[str, Builder]``
#: keyed by subfeature path. Video text detection is OCR on frames, so the OCR module has it.
_MODULES = {"audio": "audio", "ocr": "ocr", "video": "video"}
_EXCEPTIONS = {"video/text_detection_async": "ocr"}


def builder(subfeature: str) -> Builder:
    name = _EXCEPTIONS.get(subfeature) or _MODULES[subfeature.partition("/")[0]]
    module = importlib.import_module(f"{__name__}.{name}")
    found: Builder = module.BUILDERS[subfeature]
    return found
