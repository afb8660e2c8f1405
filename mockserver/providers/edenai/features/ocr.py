"""Eden AI OCR subfeatures (and video text detection, which is OCR on frames): result builders.

Field shapes follow the v2 spec's result models (``tryAGI/EdenAI`` ``openapi.json``
components ``Line``/``Page``/``Cell``/``CustomDocumentParsingAsyncItem``; reference
``edenai-async.md`` §4) and ``edenai/edenai-apis`` dataclasses and sample responses:

* ``ocr/ocr_async``: ``raw_text``, ``pages[{lines[{text, words[{text, bounding_box,
  confidence}], bounding_box, confidence}]}]``, ``number_of_pages``. Boxes are page-relative
  0..1 (sample response). The spec's ``Line`` says ``bounding_box``; older ``edenai-apis``
  dataclasses said ``bounding_boxes`` [SRC, the spec wins].
* ``ocr/ocr_tables_async``: ``pages[{tables[{rows[{cells[{text, row_index, col_index,
  row_span, col_span, confidence, bounding_box, is_header}]}], num_rows, num_cols}]}]``,
  ``num_pages``.
* ``ocr/anonymization_async``: ``document`` (base64) and ``document_url`` only.
* ``ocr/custom_document_parsing_async``: ``items[{confidence, value, query, bounding_box,
  page}]`` (confidence 0..100 in the sample response).
* ``video/text_detection_async``: ``texts[{text, frames[{confidence, timestamp,
  bounding_box{top, left, height, width}}]}]``.

``original_response`` imitates each vendor's own API (Textract ``Blocks``, Vision
``fullTextAnnotation``, Read ``analyzeResult``, Rekognition ``TextDetections``, Video
Intelligence ``textAnnotations``) [GUESS: shapes from the vendors' public docs, trimmed].
Everything is a function of the bytes, the parameters, the provider and the seed; providers
differ only by a small seeded confidence jitter.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

from ....inference.ocr import Document, PasswordProtected, UnreadableDocument, read_document
from ....inference.ocr_layout import Pii, Table, answer, find_pii, find_tables
from ....inference.ocr_redact import redact_image, redact_pdf
from ....inference.ocr_types import Box, Line
from ....inference.ocr_video import VideoTextResult, read_video_text
from ....inference.service import InferenceService
from ....inference.vision_decode import MediaDecodeError
from ....validation import load_json
from .base import Builder, Call, FeatureError, Input, Output, analysed

__all__ = ["BUILDERS", "PAGE_PRICES", "VIDEO_PRICES", "parse_queries"]

#: USD per page, from the spec's "Available Providers" tables (price per 1000 pages / 1000);
#: google and oneai for ``ocr_async`` are not priced there [GUESS: 1.5 per 1000, as amazon].
PAGE_PRICES: dict[str, dict[str, float]] = {
    "ocr/ocr_async": {
        "amazon": 0.0015,
        "microsoft": 0.01,
        "mistral": 0.001,
        "google": 0.0015,
        "oneai": 0.0015,
    },
    "ocr/ocr_tables_async": {"amazon": 0.015, "google": 0.065, "microsoft": 0.01},
    # readyredact bills 0.05 per file: see _cost.
    "ocr/anonymization_async": {"base64": 0.25, "privateai": 0.01, "readyredact": 0.05},
    "ocr/custom_document_parsing_async": {"amazon": 0.015, "extracta": 0.1},
}
_PER_FILE = {("ocr/anonymization_async", "readyredact")}
#: USD per minute of video [GUESS: Rekognition/Video Intelligence list prices, rounded].
VIDEO_PRICES: dict[str, float] = {"amazon": 0.10, "google": 0.15, "twelvelabs": 0.05}


# --- shared helpers ----------------------------------------------------------------------------


def _jitter(call: Call, *key: object) -> float:
    """A deterministic value in [0, 1) for this job, provider and ``key``."""
    text = json.dumps([call.seed, call.provider, call.subfeature, *key], default=str)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2.0**64


def _conf(call: Call, base: float, *key: object) -> float:
    """``base`` lowered by up to 2 points per provider and item, rounded as Eden does (2 dp)."""
    return round(max(0.0, min(1.0, base - 0.02 * _jitter(call, *key))), 2)


def _uid(call: Call, *key: object) -> str:
    return str(uuid.uuid5(uuid.UUID(call.public_id), json.dumps([call.provider, *key])))


def _read_document(
    data: bytes, password: str | None, sidecar: str | None, *, device: Any = None
) -> Document:
    return read_document(data, password=password, sidecar=sidecar, device=device)


def _read(call: Call, source: Input, service: InferenceService) -> Document:
    if not source.data:
        raise FeatureError("no file to analyse", type="ProviderInvalidInputError")
    password = call.params.get("file_password")
    try:
        return analysed(
            service,
            _read_document,
            source.data,
            password if isinstance(password, str) and password else None,
            source.sidecar,
        )
    except PasswordProtected as exc:
        raise FeatureError(str(exc), type="ProviderInvalidInputFilePasswordError") from None
    except UnreadableDocument as exc:
        raise FeatureError(
            f"could not read the document: {exc}", type="ProviderInvalidInputFileFormatError"
        ) from None


def _cost(call: Call, pages: int) -> float:
    price = PAGE_PRICES.get(call.subfeature, {}).get(call.provider, 0.01)
    if (call.subfeature, call.provider) in _PER_FILE:
        return price
    return round(price * max(1, pages), 6)


def _vertices(box: Box) -> list[dict[str, float]]:
    pts = [(box.left, box.top), (box.right, box.top), (box.right, box.bottom),
           (box.left, box.bottom)]  # fmt: skip
    return [{"x": round(x, 6), "y": round(y, 6)} for x, y in pts]


def _textract_geometry(box: Box) -> dict[str, Any]:
    return {
        "BoundingBox": {
            "Width": round(box.width, 6),
            "Height": round(box.height, 6),
            "Left": round(box.left, 6),
            "Top": round(box.top, 6),
        },
        "Polygon": [{"X": v["x"], "Y": v["y"]} for v in _vertices(box)],
    }


# --- ocr_async ---------------------------------------------------------------------------------


def _line_fields(call: Call, page: int, index: int, line: Line) -> dict[str, Any]:
    words: list[dict[str, Any]] = [
        {
            "text": w.text,
            "bounding_box": w.box.as_dict(),
            "confidence": _conf(call, w.confidence, page, index, j),
        }
        for j, w in enumerate(line.words)
    ]
    return {
        "text": line.text,
        "words": words,
        "bounding_box": line.box.as_dict(),
        "confidence": min(w["confidence"] for w in words),
    }


def _textract_blocks(call: Call, fields_pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for p, page in enumerate(fields_pages, start=1):
        page_id = _uid(call, "page", p)
        line_ids = []
        page_block: dict[str, Any] = {"BlockType": "PAGE", "Id": page_id, "Page": p}
        blocks.append(page_block)
        for i, line in enumerate(page["lines"]):
            line_id = _uid(call, "line", p, i)
            line_ids.append(line_id)
            word_ids = [_uid(call, "word", p, i, j) for j in range(len(line["words"]))]
            blocks.append(
                {
                    "BlockType": "LINE",
                    "Id": line_id,
                    "Page": p,
                    "Text": line["text"],
                    "Confidence": round(line["confidence"] * 100, 3),
                    "Geometry": _textract_geometry(Box(**line["bounding_box"])),
                    "Relationships": [{"Type": "CHILD", "Ids": word_ids}],
                }
            )
            for wid, word in zip(word_ids, line["words"], strict=True):
                blocks.append(
                    {
                        "BlockType": "WORD",
                        "Id": wid,
                        "Page": p,
                        "Text": word["text"],
                        "TextType": "PRINTED",
                        "Confidence": round(word["confidence"] * 100, 3),
                        "Geometry": _textract_geometry(Box(**word["bounding_box"])),
                    }
                )
        page_block["Relationships"] = [{"Type": "CHILD", "Ids": line_ids}]
    return blocks


def _ocr_original(call: Call, doc: Document, pages: list[dict[str, Any]]) -> Any:
    if call.provider == "amazon":
        return {
            "DocumentMetadata": {"Pages": len(pages)},
            "JobStatus": "SUCCEEDED",
            "Blocks": _textract_blocks(call, pages),
        }
    if call.provider == "google":
        return {
            "responses": [
                {
                    "fullTextAnnotation": {
                        "text": doc.text + "\n",
                        "pages": [
                            {
                                "width": page.width,
                                "height": page.height,
                                "blocks": [
                                    {
                                        "boundingBox": {
                                            "normalizedVertices": _vertices(
                                                Box(**ln["bounding_box"])
                                            )
                                        },
                                        "confidence": ln["confidence"],
                                        "paragraphs": [
                                            {
                                                "words": [
                                                    {
                                                        "symbols": [
                                                            {"text": ch} for ch in w["text"]
                                                        ],
                                                        "confidence": w["confidence"],
                                                    }
                                                    for w in ln["words"]
                                                ]
                                            }
                                        ],
                                    }
                                    for ln in fields["lines"]
                                ],
                            }
                            for page, fields in zip(doc.pages, pages, strict=True)
                        ],
                    },
                    "context": {"uri": "", "pageNumber": 1},
                }
            ]
        }
    if call.provider == "microsoft":
        unit = "inch" if doc.kind == "pdf" else "pixel"
        factor = 1 / 72 if doc.kind == "pdf" else 1.0
        results = []
        for page, fields in zip(doc.pages, pages, strict=True):
            w, h = page.width * factor, page.height * factor

            def poly(b: dict[str, float], w: float = w, h: float = h) -> list[float]:
                box = Box(**b)
                return [
                    round(v, 4)
                    for x, y in (
                        (box.left, box.top),
                        (box.right, box.top),
                        (box.right, box.bottom),
                        (box.left, box.bottom),
                    )  # fmt: skip
                    for v in (x * w, y * h)
                ]

            results.append(
                {
                    "page": page.number,
                    "angle": 0,
                    "width": round(w, 4),
                    "height": round(h, 4),
                    "unit": unit,
                    "lines": [
                        {
                            "boundingBox": poly(ln["bounding_box"]),
                            "text": ln["text"],
                            "words": [
                                {
                                    "boundingBox": poly(wd["bounding_box"]),
                                    "text": wd["text"],
                                    "confidence": wd["confidence"],
                                }
                                for wd in ln["words"]
                            ],
                        }
                        for ln in fields["lines"]
                    ],
                }
            )
        return {"status": "succeeded", "analyzeResult": {"version": "3.2", "readResults": results}}
    if call.provider == "mistral":
        return {
            "pages": [
                {
                    "index": i,
                    "markdown": page.text,
                    "images": [],
                    "dimensions": {"width": round(page.width), "height": round(page.height)},
                }
                for i, page in enumerate(doc.pages)
            ],
            "model": call.model or "mistral-ocr-latest",
        }
    return {"status": "success", "text": doc.text, "pages": pages}


def ocr_async(call: Call, source: Input, service: InferenceService) -> Output:
    """Text of every page: lines of words with page-relative boxes."""
    doc = _read(call, source, service)
    pages = [
        {"lines": [_line_fields(call, p.number, i, ln) for i, ln in enumerate(p.lines)]}
        for p in doc.pages
    ]
    fields = {"raw_text": doc.text, "pages": pages, "number_of_pages": len(doc.pages)}
    return Output(
        fields,
        _ocr_original(call, doc, pages),
        _cost(call, len(doc.pages)),
        {"source": doc.source},
    )


# --- ocr_tables_async --------------------------------------------------------------------------


def _table_fields(call: Call, table: Table, index: int) -> dict[str, Any]:
    rows: list[dict[str, Any]] = [{"cells": []} for _ in range(table.num_rows)]
    for k, cell in enumerate(table.cells):
        rows[cell.row]["cells"].append(
            {
                "text": cell.text,
                "row_index": cell.row,
                "col_index": cell.col,
                "row_span": cell.row_span,
                "col_span": cell.col_span,
                "confidence": _conf(call, cell.confidence, table.page, index, k),
                "bounding_box": cell.box.as_dict(),
                "is_header": cell.is_header,
            }
        )
    return {"rows": rows, "num_rows": table.num_rows, "num_cols": table.num_cols}


def _tables_original(call: Call, pages: list[dict[str, Any]]) -> Any:
    if call.provider == "amazon":
        blocks: list[dict[str, Any]] = []
        for p, page in enumerate(pages, start=1):
            for t, table in enumerate(page["tables"]):
                cell_ids = []
                for row in table["rows"]:
                    for cell in row["cells"]:
                        cid = _uid(call, "cell", p, t, cell["row_index"], cell["col_index"])
                        cell_ids.append(cid)
                        blocks.append(
                            {
                                "BlockType": "CELL",
                                "Id": cid,
                                "Page": p,
                                "RowIndex": cell["row_index"] + 1,
                                "ColumnIndex": cell["col_index"] + 1,
                                "RowSpan": cell["row_span"],
                                "ColumnSpan": cell["col_span"],
                                "Confidence": round(cell["confidence"] * 100, 3),
                                "Geometry": _textract_geometry(Box(**cell["bounding_box"])),
                                "EntityTypes": ["COLUMN_HEADER"] if cell["is_header"] else [],
                                "Text": cell["text"],
                            }
                        )
                blocks.append(
                    {
                        "BlockType": "TABLE",
                        "Id": _uid(call, "table", p, t),
                        "Page": p,
                        "Relationships": [{"Type": "CHILD", "Ids": cell_ids}],
                    }
                )
        return {"DocumentMetadata": {"Pages": len(pages)}, "JobStatus": "SUCCEEDED",
                "Blocks": blocks}  # fmt: skip
    if call.provider == "microsoft":
        return {
            "status": "succeeded",
            "analyzeResult": {
                "tables": [
                    {
                        "rowCount": table["num_rows"],
                        "columnCount": table["num_cols"],
                        "cells": [
                            {
                                "rowIndex": c["row_index"],
                                "columnIndex": c["col_index"],
                                "content": c["text"],
                                "kind": "columnHeader" if c["is_header"] else "content",
                                "boundingRegions": [{"pageNumber": p}],
                            }
                            for row in table["rows"]
                            for c in row["cells"]
                        ],
                    }
                    for p, page in enumerate(pages, start=1)
                    for table in page["tables"]
                ]
            },
        }
    return {
        "document": {
            "pages": [
                {
                    "pageNumber": p,
                    "tables": [
                        {
                            "headerRows": [
                                r
                                for r in table["rows"][:1]
                                if any(c["is_header"] for c in r["cells"])
                            ],
                            "bodyRows": [
                                r
                                for r in table["rows"]
                                if not any(c["is_header"] for c in r["cells"])
                            ],
                        }  # fmt: skip
                        for table in page["tables"]
                    ],
                }
                for p, page in enumerate(pages, start=1)
            ]
        }
    }


def ocr_tables_async(call: Call, source: Input, service: InferenceService) -> Output:
    """Tables found by column alignment, cell by cell."""
    doc = _read(call, source, service)
    pages = [
        {"tables": [_table_fields(call, t, i) for i, t in enumerate(find_tables(page))]}
        for page in doc.pages
    ]
    fields = {"pages": pages, "num_pages": len(doc.pages)}
    return Output(fields, _tables_original(call, pages), _cost(call, len(doc.pages)))


# --- anonymization_async -----------------------------------------------------------------------


def _entity(pii: Pii) -> dict[str, Any]:
    return {"type": pii.kind, "text": pii.text, "page": pii.page, "bounding_box": pii.box.as_dict()}


def anonymization_async(call: Call, source: Input, service: InferenceService) -> Output:
    """The document with e-mails, phone numbers and names blacked out (base64 and a URL)."""
    doc = _read(call, source, service)
    found = find_pii(doc)
    assert source.data is not None
    if doc.kind == "pdf":
        redacted = service.media(_redact_pdf, doc, found).result()
        name, content_type = "anonymized.pdf", "application/pdf"
    else:
        redacted = service.media(_redact_image, source.data, found).result()
        name, content_type = "anonymized.png", "image/png"
    url = call.resources(name, redacted, content_type)
    show = call.params.get("show_base_64", True)
    fields = {
        "document": base64.b64encode(redacted).decode("ascii") if show else "",
        "document_url": url,
    }
    entities = [_entity(p) for p in found]
    if call.provider == "privateai":
        original: Any = {"entities": entities, "processed_file_type": content_type}
    elif call.provider == "readyredact":
        original = {"status": "complete", "redactions": len(found), "url": url}
    else:
        original = {"status": "success", "entities": entities}
    return Output(fields, original, _cost(call, len(doc.pages)), {"entities": entities})


def _redact_pdf(doc: Document, found: list[Pii], *, device: Any = None) -> bytes:
    del device
    return redact_pdf(doc, found)


def _redact_image(data: bytes, found: list[Pii], *, device: Any = None) -> bytes:
    del device
    return redact_image(data, found)


# --- custom_document_parsing_async -------------------------------------------------------------


def parse_queries(value: Any) -> list[dict[str, str]]:
    """Eden's ``queries``: a JSON list (or its string) of ``{"query", "pages"}`` objects.

    The spec's own example is a Python literal (``'[{'query':'...','pages':'...'}]'``), so
    that is accepted too. Raises ``ValueError`` with the reason when the value does not have
    that shape; a bare string list is accepted (pages default to ``"1-*"``).
    """
    if isinstance(value, (str, bytes)):
        text = value.decode() if isinstance(value, bytes) else value
        try:
            value = load_json(text)
        except ValueError:
            try:
                value = ast.literal_eval(text.strip())
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                raise ValueError("queries must be a JSON list of {query, pages} objects") from None
    if not isinstance(value, list) or not value:
        raise ValueError("queries must be a non-empty list of {query, pages} objects")
    out = []
    for item in value:
        if isinstance(item, str):
            item = {"query": item}
        if not isinstance(item, Mapping) or not isinstance(item.get("query"), str):
            raise ValueError("each query must be an object with a 'query' string")
        if not item["query"].strip():
            raise ValueError("a query must not be empty")
        pages = item.get("pages", "1-*")
        out.append({"query": item["query"], "pages": str(pages) if pages else "1-*"})
    return out


def custom_document_parsing_async(call: Call, source: Input, service: InferenceService) -> Output:
    """Each query answered from the document's ``key: value`` lines (unanswered ones omitted)."""
    try:
        queries = parse_queries(call.params.get("queries"))
    except ValueError as exc:
        raise FeatureError(str(exc), type="ProviderInvalidInputError") from None
    doc = _read(call, source, service)
    items: list[dict[str, Any]] = []
    for i, q in enumerate(queries):
        found = answer(doc, q["query"], q["pages"])
        if found is None:
            continue
        items.append(
            {
                "confidence": round(_conf(call, found.confidence, i) * 100, 1),
                "value": found.value,
                "query": q["query"],
                "bounding_box": found.box.as_dict(),
                "page": found.page,
            }
        )
    if call.provider == "amazon":
        original: Any = {
            "DocumentMetadata": {"Pages": len(doc.pages)},
            "JobStatus": "SUCCEEDED",
            "Blocks": [
                block
                for i, item in enumerate(items)
                for block in (
                    {
                        "BlockType": "QUERY",
                        "Id": _uid(call, "q", i),
                        "Query": {"Text": item["query"]},
                        "Relationships": [{"Type": "ANSWER", "Ids": [_uid(call, "a", i)]}],
                    },
                    {
                        "BlockType": "QUERY_RESULT",
                        "Id": _uid(call, "a", i),
                        "Text": item["value"],
                        "Confidence": item["confidence"],
                        "Page": item["page"],
                        "Geometry": _textract_geometry(Box(**item["bounding_box"])),
                    },
                )  # fmt: skip
            ],
        }
    else:
        original = {
            "status": "finished",
            "answers": [{"question": it["query"], "answer": it["value"]} for it in items],
        }
    return Output({"items": items}, original, _cost(call, len(doc.pages)))


# --- video/text_detection_async ----------------------------------------------------------------


def _video_box(box: Box) -> dict[str, float]:
    return {
        "top": round(box.top, 6),
        "left": round(box.left, 6),
        "height": round(box.height, 6),
        "width": round(box.width, 6),
    }


def text_detection_async(call: Call, source: Input, service: InferenceService) -> Output:
    """Each distinct caption or sign in the video, with every sampled frame that shows it."""
    if not source.data:
        raise FeatureError("no file to analyse", type="ProviderInvalidInputError")
    try:
        result: VideoTextResult = analysed(service, read_video_text, source.data)
    except MediaDecodeError as exc:
        raise FeatureError(str(exc), type="ProviderInvalidInputFileFormatError") from None
    texts: list[dict[str, Any]] = [
        {
            "text": t.text,
            "frames": [
                {
                    "confidence": _conf(call, s.confidence, t.text, k),
                    "timestamp": s.timestamp,
                    "bounding_box": _video_box(s.box),
                }
                for k, s in enumerate(t.sightings)
            ],
        }
        for t in result.texts
    ]
    if call.provider == "amazon":
        original: Any = {
            "JobStatus": "SUCCEEDED",
            "VideoMetadata": {
                "Codec": "h264",
                "DurationMillis": round(result.duration * 1000),
                "FrameWidth": result.width,
                "FrameHeight": result.height,
            },
            "TextDetections": sorted(
                (
                    {
                        "Timestamp": round(f["timestamp"] * 1000),
                        "TextDetection": {
                            "DetectedText": t["text"],
                            "Type": "LINE",
                            "Id": i,
                            "Confidence": round(f["confidence"] * 100, 3),
                            "Geometry": {
                                "BoundingBox": {
                                    "Width": f["bounding_box"]["width"],
                                    "Height": f["bounding_box"]["height"],
                                    "Left": f["bounding_box"]["left"],
                                    "Top": f["bounding_box"]["top"],
                                }
                            },
                        },
                    }
                    for i, t in enumerate(texts)
                    for f in t["frames"]
                ),
                key=lambda d: (d["Timestamp"], d["TextDetection"]["Id"]),
            ),
        }
    elif call.provider == "google":
        original = {
            "annotationResults": [
                {
                    "textAnnotations": [
                        {
                            "text": t["text"],
                            "segments": [
                                {
                                    "segment": {
                                        "startTimeOffset": f"{t['frames'][0]['timestamp']}s",
                                        "endTimeOffset": f"{t['frames'][-1]['timestamp']}s",
                                    },
                                    "confidence": max(f["confidence"] for f in t["frames"]),
                                    "frames": [
                                        {
                                            "rotatedBoundingBox": {
                                                "vertices": _vertices(
                                                    Box(
                                                        f["bounding_box"]["left"],
                                                        f["bounding_box"]["top"],
                                                        f["bounding_box"]["width"],
                                                        f["bounding_box"]["height"],
                                                    )
                                                )
                                            },
                                            "timeOffset": f"{f['timestamp']}s",
                                        }
                                        for f in t["frames"]
                                    ],
                                }
                            ],
                        }
                        for t in texts
                    ]
                }
            ]
        }
    else:
        original = {"data": [{"value": t["text"], "frames": len(t["frames"])} for t in texts]}
    price = VIDEO_PRICES.get(call.provider, 0.1)
    cost = round(price * max(result.duration, 1.0) / 60.0, 6)
    return Output({"texts": texts}, original, cost, {"frames": result.frames})


BUILDERS: dict[str, Builder] = {
    "ocr/ocr_async": ocr_async,
    "ocr/ocr_tables_async": ocr_tables_async,
    "ocr/anonymization_async": anonymization_async,
    "ocr/custom_document_parsing_async": custom_document_parsing_async,
    "video/text_detection_async": text_detection_async,
}
