"""Shared pieces of the Hume tests: headers, archives of fixture media, contract checks."""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from mockserver.contracts import load_contract
from tests.contract_check import validate_response

ROOT = Path(__file__).resolve().parents[1]
MEDIA = ROOT / "fixtures" / "media"
KEY = "hume-test-key"
HEADERS = {"X-Hume-Api-Key": KEY}
JOBS = "/v0/batch/jobs"


def media(relative: str) -> bytes:
    return (MEDIA / relative).read_bytes()


def archive(kind: str, members: Iterable[tuple[str, bytes]]) -> bytes:
    """A ``zip``, ``tar.gz``, ``tar.bz2`` or ``tar.xz`` of ``(path, bytes)`` members."""
    out = io.BytesIO()
    if kind == "zip":
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in members:
                zf.writestr(name, data)
        return out.getvalue()
    mode = {"tar.gz": "w:gz", "tar.bz2": "w:bz2", "tar.xz": "w:xz"}[kind]
    with tarfile.open(fileobj=out, mode=mode) as tf:  # type: ignore[call-overload]
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return out.getvalue()


def checked(response: TestResponse, method: str, path: str) -> Any:
    """Assert the response honours ``contracts/hume.yaml``; return its JSON (or bytes)."""
    content_type = response.mimetype
    if content_type == "application/json":
        body: Any = response.get_json()
    else:
        body = response.data.decode("latin-1")  # binary: the contract declares a string
    validate_response(load_contract("hume"), method, path, response.status_code, content_type, body)
    return response.data if isinstance(body, str) else body


def start(client: FlaskClient, body: dict[str, Any], **headers: str) -> str:
    response = client.post(JOBS, json=body, headers={**HEADERS, **headers})
    assert response.status_code == 200, response.get_json()
    job_id: str = checked(response, "POST", JOBS)["job_id"]
    return job_id


def get(client: FlaskClient, path: str, **query: Any) -> tuple[int, Any]:
    response = client.get(path, headers=HEADERS, query_string=query)
    return response.status_code, checked(response, "GET", path)
