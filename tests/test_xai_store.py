"""xAI batches in the SQLite store: everything acknowledged survives a restart.

The per-batch request-id index lives in memory and is rebuilt from the stored segments on
first use, so after a restart the same pages, the same 412 checks and the same counters hold.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from mockserver.app import create_app
from mockserver.settings import Settings

H = {"Authorization": "Bearer store-key"}


def chat(request_id: str, text: str) -> dict[str, Any]:
    return {
        "batch_request_id": request_id,
        "batch_request": {
            "chat_get_completion": {
                "model": "grok-3-mini",
                "messages": [{"role": "user", "content": text}],
            }
        },
    }


def test_batches_requests_and_files_survive_a_restart(tmp_path: Path) -> None:
    settings = Settings().replace(store=f"sqlite:///{tmp_path / 'db.sqlite'}", grpc="off")
    app = create_app(settings)
    client = app.test_client()
    batch_id = client.post("/v1/batches", json={"name": "durable"}, headers=H).json["batch_id"]
    for n in range(3):
        body = {"batch_requests": [chat(f"r{n}-{m}", f"q {n} {m}") for m in range(4)]}
        assert (
            client.post(f"/v1/batches/{batch_id}/requests", json=body, headers=H).status_code == 200
        )
    upload = client.post(
        "/v1/files",
        data={
            "file": (
                io.BytesIO(
                    b'{"custom_id":"f1","method":"POST",'
                    b'"url":"/v1/chat/completions","body":'
                    b'{"model":"grok-3-mini","messages":'
                    b'[{"role":"user","content":"hi"}]}}\n'
                ),
                "in.jsonl",
            )
        },
        headers=H,
    ).json
    before = client.get(f"/v1/batches/{batch_id}/results?limit=5", headers=H).json
    app.extensions["mockserver"].close()

    again = create_app(settings).test_client()
    assert again.get(f"/v1/batches/{batch_id}", headers=H).json["state"]["num_requests"] == 12
    assert again.get(f"/v1/batches/{batch_id}/results?limit=5", headers=H).json == before
    token = before["pagination_token"]
    rest = again.get(f"/v1/batches/{batch_id}/results?pagination_token={token}", headers=H).json
    assert len(rest["results"]) == 7 and rest["pagination_token"] is None
    same = {"batch_requests": [chat("r1-2", "q 1 2")]}
    assert again.post(f"/v1/batches/{batch_id}/requests", json=same, headers=H).status_code == 200
    changed = {"batch_requests": [chat("r1-2", "something else")]}
    refused = again.post(f"/v1/batches/{batch_id}/requests", json=changed, headers=H)
    assert refused.status_code == 412
    assert again.get(f"/v1/files/{upload['id']}", headers=H).json == upload
    from_file = again.post(
        "/v1/batches", json={"name": "file", "input_file_id": upload["id"]}, headers=H
    ).json
    assert from_file["state"]["num_requests"] == 1 and from_file["input_file_id"] == upload["id"]
