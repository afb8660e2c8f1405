"""Results of succeeded requests, in the REST shape (the gRPC face converts them).

Results are a pure function of (seed, batch, request, its end time): the engine computes them
when a page is read instead of storing 100,000 of them (``lazy_results``), and a small LRU in the
backend keeps re-reads cheap. Chat answers come from the inference engine's composer
(:mod:`mockserver.inference.chat`): deterministic, prompt-dependent, with ``usage`` counted by
its tokenizer so ``total_tokens = prompt + completion + reasoning`` always holds (reasoning
tokens are not part of ``completion_tokens`` on the batch wire, reference §7).

Image and video answers point at media the emulator itself serves
(``/xai-media/...``): real bytes a client can download, unlike an expired vendor URL.
The exact REST shapes of image and video results are not documented (a GUESS modelled on the
images API ``{"data": [{"url"|"b64_json", "revised_prompt"}]}`` and the video API's
``{"video": {"url", "duration"}, "model"}``).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any

from ...engine.ids import derive_uuid
from ...inference import chat
from .catalog import CHAT, IMAGE_EDIT, IMAGE_GENERATION, ModelCatalog, is_reasoning
from .media import image_png, media_path

__all__ = ["compute"]


def compute(
    kind: str,
    body: Mapping[str, Any],
    *,
    seed: int,
    batch_id: str,
    request_id: str,
    ended_at: float,
) -> dict[str, Any]:
    """The ``response`` value of a succeeded request (the object under its result key)."""
    if kind == CHAT:
        return chat_completion(
            body, seed=seed, batch_id=batch_id, request_id=request_id, ended_at=ended_at
        )
    if kind in (IMAGE_GENERATION, IMAGE_EDIT):
        return image_response(body, seed=seed, batch_id=batch_id, request_id=request_id)
    return video_response(body, batch_id=batch_id, request_id=request_id)


def _int(body: Mapping[str, Any], name: str, default: int) -> int:
    value = body.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _key(*parts: object) -> bytes:
    return hashlib.blake2b("\x00".join(map(str, parts)).encode(), digest_size=16).digest()


def chat_completion(
    body: Mapping[str, Any], *, seed: int, batch_id: str, request_id: str, ended_at: float
) -> dict[str, Any]:
    model = str(body.get("model", ""))
    messages = body.get("messages") or []
    max_tokens = body.get("max_tokens")
    n = _int(body, "n", 1)
    choices = []
    prompt = completion = 0
    for index in range(n):
        result = chat.complete(
            messages,
            model=model,
            max_tokens=max_tokens if isinstance(max_tokens, int) else None,
            seed=seed + index,
        )
        prompt = result.prompt_tokens
        completion += result.completion_tokens
        choices.append(
            {
                "index": index,
                "message": {"role": "assistant", "content": result.content, "refusal": None},
                "finish_reason": result.finish_reason,
            }
        )
    key = _key(seed, batch_id, request_id)
    reasoning = 0
    if is_reasoning(model):
        reasoning = 16 + key[0] % 48 + prompt // 4
    total = prompt + completion + reasoning
    return {
        "id": derive_uuid(seed, batch_id, f"completion:{request_id}", 0),
        "object": "chat.completion",
        "created": int(ended_at),
        "model": model,
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": total,
            "prompt_tokens_details": {
                "text_tokens": prompt,
                "audio_tokens": 0,
                "image_tokens": 0,
                "cached_tokens": 0,
            },
            "completion_tokens_details": {
                "reasoning_tokens": reasoning,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
            "num_sources_used": 0,
            "cost_in_usd_ticks": ModelCatalog.price(model).chat_ticks(
                prompt, completion + reasoning
            ),
        },
        "system_fingerprint": "fp_" + hashlib.sha256(model.encode()).hexdigest()[:10],
    }


def image_response(
    body: Mapping[str, Any], *, seed: int, batch_id: str, request_id: str
) -> dict[str, Any]:
    model = str(body.get("model", ""))
    n = _int(body, "n", 1)
    prompt = str(body.get("prompt", ""))
    as_b64 = body.get("response_format") == "b64_json"
    data = []
    for index in range(n):
        entry: dict[str, Any] = {"revised_prompt": prompt}
        if as_b64:
            png = image_png(batch_id, request_id, index)
            entry["b64_json"] = base64.b64encode(png).decode("ascii")
        else:
            entry["url"] = media_path(batch_id, request_id, index, "png")
        data.append(entry)
    return {
        "data": data,
        "model": model,
        "usage": {"cost_in_usd_ticks": ModelCatalog.price(model).image_ticks(n)},
    }


def video_response(body: Mapping[str, Any], *, batch_id: str, request_id: str) -> dict[str, Any]:
    model = str(body.get("model", ""))
    duration = _int(body, "duration", 6)
    return {
        "video": {
            "url": media_path(batch_id, request_id, 0, "mp4"),
            "duration": duration,
            "respect_moderation": True,
        },
        "model": model,
        "usage": {"cost_in_usd_ticks": ModelCatalog.price(model).video_ticks(duration)},
    }
