"""Eden AI OCR builders (and video text detection) through the seam, with a real service."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from mockserver.inference.ocr import read_document
from mockserver.inference.service import InferenceService
from mockserver.providers.edenai.features import builder
from mockserver.providers.edenai.features.base import Call, FeatureError, Input, Output
from mockserver.providers.edenai.features.ocr import BUILDERS, parse_queries
from tests.eden_helpers import Sink

MEDIA = Path(__file__).resolve().parents[1] / "fixtures" / "media"
DOCS = MEDIA / "documents"
PUBLIC_ID = "6f1c2b9e-3d4a-4e5f-9a8b-7c6d5e4f3a2b"


@pytest.fixture(scope="module")
def service(inference: InferenceService) -> InferenceService:
    """The shared CPU service (``conftest.inference``), under this module's name for it."""
    return inference


def run(
    service: InferenceService,
    subfeature: str,
    provider: str,
    file: str,
    *,
    seed: int = 7,
    sink: Sink | None = None,
    **params: Any,
) -> Output:
    path = MEDIA / file
    sidecar = path.with_suffix(".txt")
    call = Call(
        subfeature,
        provider,
        None,
        {"show_base_64": True, "settings": {}, "provider_params": {}, **params},
        seed,
        PUBLIC_ID,
        sink if sink is not None else Sink(),
    )
    media = "application/pdf" if file.endswith(".pdf") else None
    source = Input(path.read_bytes(), media, path.name, None,
                   sidecar.read_text() if sidecar.exists() else None)  # fmt: skip
    return builder(subfeature)(call, source, service)


def test_every_subfeature_has_a_builder() -> None:
    assert set(BUILDERS) == {
        "ocr/ocr_async",
        "ocr/ocr_tables_async",
        "ocr/anonymization_async",
        "ocr/custom_document_parsing_async",
        "video/text_detection_async",
    }
    assert builder("video/text_detection_async") is BUILDERS["video/text_detection_async"]


@pytest.mark.parametrize("provider", ["amazon", "google", "microsoft", "mistral", "oneai"])
def test_ocr_async_reads_the_invoice(service: InferenceService, provider: str) -> None:
    out = run(service, "ocr/ocr_async", provider, "documents/invoice.pdf")
    f = out.fields
    assert f["number_of_pages"] == 2 and len(f["pages"]) == 2
    assert "Invoice number: INV-0042" in f["raw_text"].splitlines()
    line = f["pages"][0]["lines"][1]
    assert line["text"] == "Invoice number: INV-0042"
    assert [w["text"] for w in line["words"]] == ["Invoice", "number:", "INV-0042"]
    assert set(line["bounding_box"]) == {"left", "top", "width", "height"}
    assert 0 < line["bounding_box"]["left"] < 1 and 0.97 <= line["confidence"] <= 1
    assert out.cost > 0
    json.dumps(out.original_response)
    if provider == "amazon":
        texts = [b["Text"] for b in out.original_response["Blocks"] if b["BlockType"] == "LINE"]
        assert "Invoice number: INV-0042" in texts


def test_ocr_async_image_and_determinism(service: InferenceService) -> None:
    a = run(service, "ocr/ocr_async", "amazon", "documents/invoice_noisy.jpg")
    b = run(service, "ocr/ocr_async", "amazon", "documents/invoice_noisy.jpg")
    c = run(service, "ocr/ocr_async", "microsoft", "documents/invoice_noisy.jpg")
    assert a == b
    assert a.fields["raw_text"] == c.fields["raw_text"]
    assert a.fields["number_of_pages"] == 1 and "jane.doe@example.com" in a.fields["raw_text"]
    conf = [w["confidence"] for ln in a.fields["pages"][0]["lines"] for w in ln["words"]]
    conf_c = [w["confidence"] for ln in c.fields["pages"][0]["lines"] for w in ln["words"]]
    assert conf != conf_c  # providers differ only by the seeded jitter


def test_sidecar_fallback(service: InferenceService) -> None:
    out = run(service, "ocr/ocr_async", "google", "documents/unknown_font.png")
    assert out.fields["raw_text"] == "Meeting at noon"


def test_password(service: InferenceService) -> None:
    with pytest.raises(FeatureError, match="password protected"):
        run(service, "ocr/ocr_async", "amazon", "documents/invoice_locked.pdf")
    out = run(service, "ocr/ocr_async", "amazon", "documents/invoice_locked.pdf",
              file_password="secret42")  # fmt: skip
    assert "INV-0042" in out.fields["raw_text"]


def test_garbage_is_a_feature_error(service: InferenceService, tmp_path: Path) -> None:
    call = Call("ocr/ocr_async", "amazon", None, {}, 1, PUBLIC_ID, Sink())
    with pytest.raises(FeatureError, match="could not read") as err:
        BUILDERS["ocr/ocr_async"](call, Input(b"plain text, not a document"), service)
    assert err.value.type == "ProviderInvalidInputFileFormatError"


@pytest.mark.parametrize("file", ["documents/invoice.pdf", "documents/invoice.png"])
def test_ocr_tables_cells_in_place(service: InferenceService, file: str) -> None:
    out = run(service, "ocr/ocr_tables_async", "amazon", file)
    pages = out.fields["pages"]
    assert out.fields["num_pages"] == len(pages)
    tables = [t for p in pages for t in p["tables"]]
    assert len(tables) == 1
    table = tables[0]
    assert (table["num_rows"], table["num_cols"]) == (4, 4)
    cells = {(c["row_index"], c["col_index"]): c for r in table["rows"] for c in r["cells"]}
    assert cells[(0, 3)]["text"] == "Amount" and cells[(0, 3)]["is_header"]
    assert cells[(2, 0)]["text"] == "Toner XL" and cells[(2, 2)]["text"] == "89.75"
    assert not cells[(2, 2)]["is_header"] and cells[(2, 2)]["row_span"] == 1
    assert out.cost == pytest.approx(0.015 * len(pages))
    blocks = out.original_response["Blocks"]
    assert any(b["BlockType"] == "CELL" and b.get("Text") == "89.75" and b["RowIndex"] == 3
               for b in blocks)  # fmt: skip


def test_anonymization_image(service: InferenceService) -> None:
    sink = Sink()
    out = run(service, "ocr/anonymization_async", "privateai", "documents/invoice.png", sink=sink)
    assert set(out.fields) == {"document", "document_url"}
    (name,) = sink.files
    data, content_type = sink.files[name]
    assert content_type == "image/png" and out.fields["document_url"].endswith(name)
    assert base64.b64decode(out.fields["document"]) == data
    # Black where the e-mail was, and the e-mail, phone and name are gone from a re-read.
    original = read_document((DOCS / "invoice.png").read_bytes())
    email = next(w for ln in original.pages[0].lines for w in ln.words if "@" in w.text)
    redacted = read_document(data)
    img = Image.open(io.BytesIO(data)).convert("L")
    w, h = img.size
    box = email.box
    region = img.crop((round(box.left * w), round(box.top * h), round(box.right * w),
                       round(box.bottom * h)))  # fmt: skip
    assert np.asarray(region).max() == 0
    text = redacted.text
    assert "jane.doe@example.com" not in text and "Jane Doe" not in text and "+33" not in text
    assert "INV-0042" in text and "Total: 1,234.50 EUR" in text
    kinds = {e["type"] for e in out.extra["entities"]}
    assert kinds == {"email", "phone", "person"}


def test_anonymization_pdf_and_show_base_64(service: InferenceService) -> None:
    sink = Sink()
    out = run(service, "ocr/anonymization_async", "base64", "documents/invoice.pdf", sink=sink,
              show_base_64=False)  # fmt: skip
    assert out.fields["document"] == ""
    data, content_type = sink.files["anonymized.pdf"]
    assert content_type == "application/pdf"
    text = read_document(data).text
    assert "jane.doe@example.com" not in text and "INV-0042" in text
    assert out.cost == pytest.approx(0.25 * 2)
    readyredact = run(service, "ocr/anonymization_async", "readyredact", "documents/invoice.pdf")
    assert readyredact.cost == pytest.approx(0.05)
    assert base64.b64decode(readyredact.fields["document"]).startswith(b"%PDF-")


def test_custom_document_parsing(service: InferenceService) -> None:
    queries = [
        {"query": "What is the invoice number?", "pages": "1-*"},
        {"query": "What is the total?", "pages": "1"},
        {"query": "What is the customer's email address?", "pages": "1-*"},
        {"query": "Who is the ship captain?", "pages": "1-*"},
    ]
    out = run(service, "ocr/custom_document_parsing_async", "amazon", "documents/invoice.png",
              queries=json.dumps(queries))  # fmt: skip
    items = {i["query"]: i for i in out.fields["items"]}
    assert items["What is the invoice number?"]["value"] == "INV-0042"
    assert items["What is the total?"]["value"] == "1,234.50 EUR"
    assert items["What is the customer's email address?"]["value"] == "jane.doe@example.com"
    assert "Who is the ship captain?" not in items  # unanswerable: omitted, not invented
    first = items["What is the invoice number?"]
    assert first["page"] == 1 and 95 <= first["confidence"] <= 100
    assert 0 < first["bounding_box"]["left"] < 1
    assert out.cost == pytest.approx(0.015)


def test_queries_are_validated(service: InferenceService) -> None:
    assert parse_queries('[{"query": "a?", "pages": "1"}]') == [{"query": "a?", "pages": "1"}]
    assert parse_queries(["a?"]) == [{"query": "a?", "pages": "1-*"}]
    assert parse_queries("[{'query':'b?','pages':'2'}]") == [{"query": "b?", "pages": "2"}]
    for bad in ("not json", "[]", '[{"pages": "1"}]', '{"query": "x"}', [{"query": " "}]):
        with pytest.raises(ValueError):
            parse_queries(bad)
    with pytest.raises(FeatureError):
        run(service, "ocr/custom_document_parsing_async", "extracta", "documents/invoice.pdf",
            queries="[]")  # fmt: skip


@pytest.mark.parametrize("provider", ["amazon", "google", "twelvelabs"])
def test_video_text_detection(service: InferenceService, provider: str) -> None:
    out = run(service, "video/text_detection_async", provider, "video/text_caption.mp4")
    texts = {t["text"]: t["frames"] for t in out.fields["texts"]}
    assert set(texts) == {"CH 7", "HELLO EDEN", "INVOICE INV-0042", "TOTAL 1,234.50"}
    stamps = [f["timestamp"] for f in texts["CH 7"]]
    assert stamps == sorted(stamps) and stamps[0] == 0.0 and stamps[-1] >= 2.5
    firsts = [texts[t][0]["timestamp"] for t in ("HELLO EDEN", "INVOICE INV-0042",
                                                 "TOTAL 1,234.50")]  # fmt: skip
    assert firsts == sorted(firsts) and firsts[0] < 1.0 <= firsts[1] < 2.0 <= firsts[2]
    box = texts["INVOICE INV-0042"][0]["bounding_box"]
    assert set(box) == {"top", "left", "height", "width"}
    assert box["top"] == pytest.approx(150 / 216, abs=0.02)
    assert out.cost > 0
    json.dumps(out.original_response)


def test_video_garbage_is_a_feature_error(service: InferenceService) -> None:
    call = Call("video/text_detection_async", "google", None, {}, 1, PUBLIC_ID, Sink())
    with pytest.raises(FeatureError):
        BUILDERS["video/text_detection_async"](call, Input(b"not a video"), service)
