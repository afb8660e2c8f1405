"""Clients with hard-coded vendor URLs against the emulator in process: no port, no network.

``mockserver.testing.intercept`` routes ``requests`` (through ``responses``) and ``httpx`` calls
aimed at the vendors' hosts into the Flask app. Proven here with code nobody adapted: the Eden AI
seed document's ``requests`` example (``../shared/seeds/004_e74253d5485cde4c.txt``), LangChain's
Eden AI speech-to-text tool, and the official Hume SDK with its default base URL. Other hosts
are refused, and connection faults reach the clients as their own connection errors.
"""

from __future__ import annotations

import asyncio
import io
import time
import types
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from flask import Flask

from mockserver.app import create_app
from mockserver.runtime import SAMPLES_DIR
from mockserver.testing import Emulator, LiveServer, assert_client_clean, build_settings
from mockserver.testing.intercept import (
    AsyncMockserverTransport,
    MockserverTransport,
    intercept,
    intercept_httpx,
)

TWO_VOICES = "Hello, how are you today? I am fine, thank you. Good to hear."
STT = "https://api.edenai.run/v2/audio/speech_to_text_async"

# The seed document's two snippets as it prints them (its missing comma after "en" and the
# unclosed webhook string fixed: Python would not run them otherwise). Only the job id of the
# second one changes: the document hard-codes the id its own launch printed.
LAUNCH = """\
import requests


url = "https://api.edenai.run/v2/audio/speech_to_text_async"

files = {"file": ("audio.wav", open("audio.wav", "rb"), "audio/x-wav")}
payload = {
    "providers": "amazon",
    "language": "en",
    "speakers": "2",
    "profanity_filter": "false",
    "webhook_receiver": "http://my-webhook-receiver-enpoint.com/"
}
headers = {
    "accept": "application/json",
    "authorization": "Bearer <API_KEY>"
}

response = requests.post(url, data=payload, files=files, headers=headers)
data = response.json()

print(data)  # {"public_id": "9421ae03-6180-4aef-82ce-19b2c33e9397"}
"""
POLL = """\
import requests

# url including the job id
url = "https://api.edenai.run/v2/audio/speech_to_text_async/9421ae03-6180-4aef-82ce-19b2c33e9397"

headers = {
    "accept": "application/json",
    "authorization": "Bearer <API_KEY>"
}

response = requests.get(url, headers=headers)
data = response.json()
print(data['status'])  # processing | finished | failed
"""


def emulator_app(**changes: Any) -> Flask:
    """A running in-process emulator with its model loaded (Eden and Hume jobs wait for it)."""
    app = create_app(build_settings(changes), start=True)
    app.extensions["mockserver"].inference.wait_ready(120)
    return app


@pytest.fixture
def eden() -> Iterator[Flask]:
    app = emulator_app()
    yield app
    app.extensions["mockserver"].close()


def poll(check: Any, timeout: float = 30.0) -> Any:
    """Call ``check`` until it returns something truthy (bounded, real time)."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return found


# --- 1. the seed document's requests example ---------------------------------------------------


def test_the_eden_documents_example_runs_unchanged_without_network(
    eden: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "audio.wav").write_bytes((SAMPLES_DIR / "audio" / "two_voices.wav").read_bytes())
    with intercept(eden) as emulator:
        launched: dict[str, Any] = {}
        exec(LAUNCH, launched)  # the document's code, as published
        launched["files"]["file"][1].close()
        assert launched["response"].status_code == 200
        public_id = launched["data"]["public_id"]
        assert list(launched["data"]) == ["public_id"]

        def finished() -> dict[str, Any] | None:
            polled: dict[str, Any] = {}
            exec(POLL.replace("9421ae03-6180-4aef-82ce-19b2c33e9397", public_id), polled)
            data: dict[str, Any] = polled["data"]
            return data if data["status"] in ("finished", "failed") else None

        data = poll(finished)
        assert data["status"] == "finished"
        amazon = data["results"]["amazon"]
        assert (amazon["final_status"], amazon["error"]) == ("succeeded", None)
        assert amazon["text"] == TWO_VOICES  # the sidecar transcript, found by content
        assert amazon["diarization"]["total_speakers"] == 2  # from the signal: two voices
        # What reached the emulator: the multipart upload and the polls, under the key's tenant.
        journal = emulator.journal("<API_KEY>")
        assert [(e["method"], e["operation"], e["status"]) for e in journal[:2]] == [
            ("POST", "launch", 200),
            ("GET", "get", 200),
        ]
        assert_client_clean(emulator, tenant="<API_KEY>")


# --- 2. LangChain's Eden AI speech-to-text tool ---------------------------------------------------


def langchain_tool(monkeypatch: pytest.MonkeyPatch, key: str) -> Any:
    """LangChain's tool, unmodified; only its 1 s polling sleeps are shortened."""
    with warnings.catch_warnings():  # the package announces its sunset, pydantic v1 validators
        warnings.simplefilter("ignore")
        from langchain_community.tools.edenai import EdenAiSpeechToTextTool
        from langchain_community.tools.edenai import audio_speech_to_text as module

    monkeypatch.setenv("EDENAI_API_KEY", key)
    fast = types.SimpleNamespace(sleep=lambda seconds: time.sleep(min(seconds, 0.2)))
    monkeypatch.setattr(module, "time", fast)
    return EdenAiSpeechToTextTool(providers=["amazon"], speakers=None, custom_vocabulary=None)


def test_langchain_eden_tool_returns_the_emulators_transcript(
    eden: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The tool posts with the key but polls with str(SecretStr), "**********" (see the next
    # test); a key that reads the same masked keeps both calls in one tenant.
    key = "**********"
    tool = langchain_tool(monkeypatch, key)
    with intercept(eden) as emulator:
        try:
            transcript = tool.run("https://example.com/audio/two_voices.wav")
        finally:
            launch = emulator.journal(key)[0]
            assert (launch["method"], launch["status"], launch["violations"]) == ("POST", 200, [])
        public_id = emulator.journal(key)[-1]["path"].rsplit("/", 1)[1]
        ours = requests.get(f"{STT}/{public_id}", headers={"Authorization": f"Bearer {key}"})
    assert transcript == ours.json()["results"]["amazon"]["text"] == TWO_VOICES


def test_langchain_eden_tool_polls_with_a_masked_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug the emulator finds in the tool: ``_get_edenai`` sends ``Bearer {self.edenai_api_key}``,
    a pydantic ``SecretStr``, so every poll carries ``Bearer **********``. With only the real
    key valid (as live), the launch passes and the first poll gets Eden's 403."""
    app = emulator_app(api_keys=["lc-real-key"])
    try:
        tool = langchain_tool(monkeypatch, "lc-real-key")
        with intercept(app) as emulator, pytest.raises(ValueError, match="Invalid API key"):
            tool.run("https://example.com/audio/two_voices.wav")
        entries = emulator.journal()
        assert [(e["method"], e["status"], e["tenant"]) for e in entries] == [
            ("POST", 200, "lc-real-key"),
            ("GET", 403, None),
        ]
    finally:
        app.extensions["mockserver"].close()


# --- 3. the Hume SDK over httpx, default base URL -------------------------------------------------


def test_hume_sdk_with_the_transport_lists_and_starts_jobs(eden: Flask) -> None:
    from hume import HumeClient

    with httpx.Client(transport=MockserverTransport(eden), timeout=30) as http:
        client = HumeClient(api_key="hume-key", httpx_client=http)  # https://api.hume.ai
        batch = client.expression_measurement.batch
        assert list(batch.list_jobs()) == []
        job_id = batch.start_inference_job(text=["I am so happy and grateful for your help"])
        jobs = batch.list_jobs()
        assert [job.job_id for job in jobs] == [job_id]
        done = poll(
            lambda: (job := batch.get_job_details(id=job_id)).state.status == "COMPLETED" and job
        )
        assert done.state.num_predictions == 1
        # Bytes as produced: the artifacts zip through httpx equals the test client's.
        streamed = http.get(
            f"https://api.hume.ai/v0/batch/jobs/{job_id}/artifacts",
            headers={"X-Hume-Api-Key": "hume-key"},
        )
    direct = eden.test_client().get(
        f"/v0/batch/jobs/{job_id}/artifacts", headers={"X-Hume-Api-Key": "hume-key"}
    )
    assert streamed.status_code == 200 and streamed.content == direct.get_data()
    assert streamed.headers["content-disposition"] == direct.headers["Content-Disposition"]
    assert zipfile.ZipFile(io.BytesIO(streamed.content)).namelist()
    assert_client_clean(eden, tenant="hume-key")


def test_intercept_httpx_serves_clients_that_build_their_own(eden: Flask) -> None:
    from hume import AsyncHumeClient, HumeClient

    async def list_async() -> int:
        client = AsyncHumeClient(api_key="hume-key")
        return len(await client.expression_measurement.batch.list_jobs())

    with intercept_httpx(eden) as emulator:
        batch = HumeClient(api_key="hume-key").expression_measurement.batch  # its own httpx
        job_id = batch.start_inference_job(text=["Hello there."])
        assert asyncio.run(list_async()) == 1
        with pytest.raises(httpx.ConnectError, match="refused GET https://example.com/"):
            httpx.get("https://example.com/")
        assert [e["operation"] for e in emulator.journal("hume-key")] == ["start_job", "list_jobs"]
    assert job_id
    with pytest.raises(httpx.ConnectError):  # the patch is gone: a real connection is tried
        httpx.get("http://127.0.0.1:9/", timeout=2)


def test_the_async_transport_streams_a_truncated_body_as_a_read_error(eden: Flask) -> None:
    async def main() -> None:
        transport = AsyncMockserverTransport(eden)
        async with httpx.AsyncClient(transport=transport) as client:
            ok = await client.get(
                "https://api.hume.ai/v0/batch/jobs", headers={"X-Hume-Api-Key": "k"}
            )
            assert ok.json() == []
            Emulator.of_app(eden).call(
                "POST", "/faults", {"rules": [{"action": {"kind": "truncate", "fraction": 0.5}}]}
            )
            with pytest.raises(httpx.ReadError, match="reset mid-body"):
                await client.get(
                    "https://api.hume.ai/v0/batch/jobs", headers={"X-Hume-Api-Key": "k"}
                )

    asyncio.run(main())


# --- 4. other hosts, passthrough and connection faults --------------------------------------------


@pytest.fixture
def bare() -> Iterator[Flask]:
    """An emulator without the model (these tests run no inference)."""
    app = create_app(build_settings(), start=True)
    yield app
    app.extensions["mockserver"].close()


def test_other_hosts_are_refused_and_passthrough_lets_them_through(bare: Flask) -> None:
    with intercept(bare):
        with pytest.raises(requests.ConnectionError, match="doesn't match any registered mock"):
            requests.get("https://example.com/")
        answer = requests.get("https://api.x.ai/v1/batches", headers={"Authorization": "Bearer k"})
        assert answer.status_code == 200 and answer.json()["batches"] == []
        assert answer.headers["x-request-id"]  # the face's own headers come through
    with LiveServer(build_settings()) as server, intercept(bare, passthrough=[server.url]):
        assert requests.get(f"{server.url}/_mock/health", timeout=5).json()["status"] == "ok"
        with pytest.raises(requests.ConnectionError):
            requests.get("https://example.com/")


def test_router_and_legacy_hugging_face_hosts_are_routed(bare: Flask) -> None:
    body = {"inputs": "I love this", "parameters": {"candidate_labels": ["love", "war"]}}
    headers = {"Authorization": "Bearer hf_key"}
    with intercept(bare) as emulator:
        for url in (
            "https://router.huggingface.co/hf-inference/models/facebook/bart-large-mnli",
            "https://api-inference.huggingface.co/models/facebook/bart-large-mnli",
        ):
            requests.post(url, json=body, headers=headers, timeout=60)
        paths = [(e["path"], e["provider"]) for e in emulator.journal("hf_key")]
    assert paths == [
        ("/hf-inference/models/facebook/bart-large-mnli", "huggingface"),
        ("/models/facebook/bart-large-mnli", "huggingface"),
    ]


def test_requests_gets_zip_bytes_and_a_dribble_as_it_is_produced(eden: Flask) -> None:
    hume = {"X-Hume-Api-Key": "zip-key"}
    base = "https://api.hume.ai/v0/batch/jobs"
    with intercept(eden) as emulator:
        sent = requests.post(base, json={"text": ["So happy to see you!"]}, headers=hume)
        job_id = sent.json()["job_id"]
        poll(
            lambda: (
                requests.get(f"{base}/{job_id}", headers=hume).json()["state"]["status"]
                == "COMPLETED"
            )
        )
        archive = requests.get(f"{base}/{job_id}/artifacts", headers=hume)
        direct = eden.test_client().get(f"/v0/batch/jobs/{job_id}/artifacts", headers=hume)
        assert archive.content == direct.get_data() and archive.content[:2] == b"PK"
        assert archive.headers["Content-Type"] == direct.headers["Content-Type"]
        # A dribbled body streams: the first 64 bytes come long before the last.
        slow = {"kind": "dribble", "chunk": 64, "delay": 0.05}
        emulator.call("POST", "/faults", {"rules": [{"action": slow, "times": 1}]})
        started = time.monotonic()
        with requests.get(base, headers=hume, stream=True) as response:
            chunks = [(time.monotonic() - started, c) for c in response.iter_content(64)]
    whole = b"".join(c for _, c in chunks)
    assert whole == eden.test_client().get("/v0/batch/jobs", headers=hume).get_data()
    assert len(chunks) >= 4 and chunks[0][0] < chunks[-1][0] / 2


def test_connection_faults_surface_as_requests_connection_errors(bare: Flask) -> None:
    url = "https://api.x.ai/v1/batches"
    headers = {"Authorization": "Bearer faulty"}
    with intercept(bare) as emulator:
        emulator.call("POST", "/faults", {"rules": [{"action": {"kind": "reset"}, "times": 1}]})
        with pytest.raises(requests.exceptions.ConnectionError, match="Connection aborted"):
            requests.get(url, headers=headers)
        assert requests.get(url, headers=headers).status_code == 200  # the rule fired once
        cut = {"action": {"kind": "truncate", "fraction": 0.5}, "times": 1}
        emulator.call("POST", "/faults", {"rules": [cut]})
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            requests.get(url, headers=headers)
        kinds = [(e["fault"] or {}).get("kind") for e in emulator.journal("faulty")]
    assert kinds == ["reset", None, "truncate"]
