"""What the emulated xAI batch service knows: request kinds, models, endpoints and prices.

The model list is the batch-capable models of the xAI catalogue as of 2026 (a GUESS assembled
from the SDK's examples and the docs' model pages; ``--xai-models`` replaces it). A model outside
the list is refused at add time with the live message
``Model <id> is not supported for batch processing.`` (reference §5). Prices are per million
tokens in USD with the batch discount of 50 % applied; they only feed ``cost_in_usd_ticks``
(1 tick = 1e-10 USD) and are a GUESS.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "CHAT",
    "ENDPOINTS",
    "IMAGE_EDIT",
    "IMAGE_GENERATION",
    "KINDS",
    "RESULT_KEY",
    "VIDEO_EXTENSION",
    "VIDEO_GENERATION",
    "ModelCatalog",
    "Price",
    "is_reasoning",
]

CHAT = "chat_get_completion"
IMAGE_GENERATION = "image_generation"
IMAGE_EDIT = "image_edit"
VIDEO_GENERATION = "video_generation"
VIDEO_EXTENSION = "video_extension"
#: The ``batch_request`` keys a stored request can have (``responses`` is converted to chat).
KINDS = (CHAT, IMAGE_GENERATION, IMAGE_EDIT, VIDEO_GENERATION, VIDEO_EXTENSION)
#: The ``batch_request`` keys a client may send.
REQUEST_KEYS = ("chat_get_completion", "responses", *KINDS[1:])

#: The gRPC method a request kind runs as (request metadata ``endpoint``); chat's was seen live.
ENDPOINTS = {
    CHAT: "xai_api.Chat/GetCompletion",
    IMAGE_GENERATION: "xai_api.Image/GenerateImage",
    IMAGE_EDIT: "xai_api.Image/GenerateImage",
    VIDEO_GENERATION: "xai_api.Video/GenerateVideo",
    VIDEO_EXTENSION: "xai_api.Video/ExtendVideo",
}
#: The key a successful result is wrapped in (edits answer like generations: a GUESS).
RESULT_KEY = {
    CHAT: "chat_get_completion",
    IMAGE_GENERATION: "image_generation",
    IMAGE_EDIT: "image_generation",
    VIDEO_GENERATION: "video_generation",
    VIDEO_EXTENSION: "video_generation",
}

CHAT_MODELS = (
    "grok-4",
    "grok-4-0709",
    "grok-4-fast-reasoning",
    "grok-4-fast-non-reasoning",
    "grok-4-1-fast-reasoning",
    "grok-4-1-fast-non-reasoning",
    "grok-4.20-reasoning",
    "grok-4.20-non-reasoning",
    "grok-code-fast-1",
    "grok-3",
    "grok-3-mini",
)
IMAGE_MODELS = ("grok-2-image-1212", "grok-imagine-image")
VIDEO_MODELS = ("grok-imagine-video",)


@dataclass(frozen=True)
class Price:
    """Batch prices in USD: per million input and output tokens, per image, per video second."""

    input_per_m: float = 1.0
    output_per_m: float = 5.0
    per_image: float = 0.035
    per_video_second: float = 0.025

    def chat_ticks(self, prompt: int, completion: int) -> int:
        usd = (prompt * self.input_per_m + completion * self.output_per_m) / 1_000_000
        return round(usd * 1e10)

    def image_ticks(self, images: int) -> int:
        return round(images * self.per_image * 1e10)

    def video_ticks(self, seconds: int) -> int:
        return round(seconds * self.per_video_second * 1e10)


_PRICES = {
    "grok-4": Price(1.5, 7.5),
    "grok-4-0709": Price(1.5, 7.5),
    "grok-3": Price(1.5, 7.5),
    "grok-3-mini": Price(0.15, 0.25),
    "grok-code-fast-1": Price(0.1, 0.75),
    "grok-4.20-reasoning": Price(1.0, 3.0),
    "grok-4.20-non-reasoning": Price(1.0, 3.0),
}
_FAST = Price(0.1, 0.25)


def is_reasoning(model: str) -> bool:
    """Whether a chat model thinks before answering (it then reports reasoning tokens)."""
    if "non-reasoning" in model:
        return False
    return "reasoning" in model or model in ("grok-4", "grok-4-0709", "grok-3-mini")


class ModelCatalog:
    """The models a batch accepts, by request kind."""

    def __init__(self, models: Iterable[str] = ()) -> None:
        chosen = tuple(models)
        if chosen:
            self.chat = self.image = self.video = frozenset(chosen)
        else:
            self.chat = frozenset(CHAT_MODELS)
            self.image = frozenset(IMAGE_MODELS)
            self.video = frozenset(VIDEO_MODELS)

    def supports(self, kind: str, model: str) -> bool:
        if kind == CHAT:
            pool = self.chat
        elif kind in (IMAGE_GENERATION, IMAGE_EDIT):
            pool = self.image
        else:
            pool = self.video
        return model in pool

    @staticmethod
    def price(model: str) -> Price:
        if model in _PRICES:
            return _PRICES[model]
        return _FAST if "fast" in model else Price()
