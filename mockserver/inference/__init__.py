"""The model side: one small torch model family shared by every provider.

Importing this package does not import torch (start-up stays fast); the modules that need it
(``text``, ``audio``, ``vision`` and their helpers) are imported by :class:`InferenceService` when
the model loads, or directly by code that runs inference.

- :mod:`.labels` the vendors' label vocabularies (plain data)
- :mod:`.tokenizer` BERT WordPiece over the shipped vocabulary
- :mod:`.text`, :mod:`.entities`, :mod:`.chat` text heads, NER, chat completions
- :mod:`.audio` decoding, speech segments, prosody, bursts, transcripts, speakers
- :mod:`.vision` image and video decoding, face boxes, expressions, tracking
- :mod:`.service` lazy loading, device choice, dynamic batching
"""

from __future__ import annotations

from .service import InferenceService, InferenceUnavailable, TextTask

__all__ = ["InferenceService", "InferenceUnavailable", "TextTask"]
