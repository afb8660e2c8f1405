"""REST JSON for batches, request metadata and result rows (``contracts/xai.yaml``).

The REST JSON is not the protobuf JSON mapping (reference §1): endpoint-named wrappers
(``chat_get_completion``), ``batch_result.{response|error}`` with the error a bare string, and
timestamps as strings: date-only ``YYYY-MM-DD`` as the docs and live captures show, or RFC 3339
with ``--xai-time-format rfc3339`` (§13.1).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .backend import BatchInfo, RequestRow
from .catalog import ENDPOINTS, RESULT_KEY, VIDEO_EXTENSION, VIDEO_GENERATION
from .media import MEDIA_PREFIX

__all__ = ["absolute_media", "batch_json", "metadata_json", "result_json", "timestamp"]


def timestamp(value: float | None, style: str = "date") -> str | None:
    if value is None:
        return None
    moment = datetime.fromtimestamp(value, tz=timezone.utc)
    if style == "date":
        return moment.strftime("%Y-%m-%d")
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def batch_json(info: BatchInfo, style: str = "date") -> dict[str, Any]:
    counts = info.counts
    out: dict[str, Any] = {
        "batch_id": info.id,
        "name": info.name,
        "create_time": timestamp(info.created_at, style),
        "expire_time": timestamp(info.expires_at, style),
        "create_api_key_id": info.key_id,
        "cancel_time": timestamp(info.cancelled_at, style),
        "cancel_by_xai_message": info.cancel_by_xai_message,
        "state": {
            "num_requests": counts.total,
            "num_pending": counts.pending,
            "num_success": counts.succeeded,
            "num_error": counts.failed,
            "num_cancelled": counts.cancelled,
        },
    }
    if info.input_file_id is not None:
        out["input_file_id"] = info.input_file_id
    return out


def metadata_json(row: RequestRow, style: str = "date") -> dict[str, Any]:
    return {
        "batch_request_id": row.id,
        "endpoint": ENDPOINTS[row.kind],
        "model": row.model,
        "state": row.status,
        "create_time": timestamp(row.created_at, style),
        "finish_time": timestamp(row.finished_at, style),
    }


def result_json(row: RequestRow, base_url: str) -> dict[str, Any]:
    """A results-page row: the response under its endpoint key, or the bare error string."""
    if row.result is None:
        outcome: dict[str, Any] = {"error": row.error or "Request failed"}
    else:
        outcome = {
            "response": {RESULT_KEY[row.kind]: absolute_media(row.kind, row.result, base_url)}
        }
    return {"batch_request_id": row.id, "batch_result": outcome}


def absolute_media(kind: str, result: dict[str, Any], base_url: str) -> dict[str, Any]:
    """Result media URLs (stored relative) made absolute with this server's address."""
    base = base_url.rstrip("/")
    if kind in (VIDEO_GENERATION, VIDEO_EXTENSION):
        video = result["video"]
        if video["url"].startswith(MEDIA_PREFIX):
            return {**result, "video": {**video, "url": base + video["url"]}}
        return result
    if "data" in result:
        data = [
            {**d, "url": base + d["url"]} if str(d.get("url", "")).startswith(MEDIA_PREFIX) else d
            for d in result["data"]
        ]
        return {**result, "data": data}
    return result
