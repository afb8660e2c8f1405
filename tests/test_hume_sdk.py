"""The official ``hume==0.13.13`` SDK, unmodified, against ``mockserver serve`` (a real process).

Pydantic parsing inside the SDK is the oracle for shapes: a field it requires and we omit, or a
type it refuses, raises ``ValidationError`` here. Every batch method runs, sync and async,
including uploads of fixture media and archives, list filters, artifacts and a FAILED job.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

hume = pytest.importorskip("hume", reason="the official Hume SDK (hume==0.13.13) is not installed")

from hume import AsyncHumeClient, HumeClient  # noqa: E402
from hume.core.api_error import ApiError  # noqa: E402
from hume.expression_measurement.batch.types import (  # noqa: E402
    Face,
    InferenceBaseRequest,
    Language,
    Models,
    Ner,
    Prosody,
    Transcription,
)

from tests.hume_helpers import KEY, MEDIA, archive, media  # noqa: E402
from tests.receiver import Receiver  # noqa: E402
from tests.serverproc import ServerProcess  # noqa: E402

NO_RETRY: dict[str, Any] = {"max_retries": 0}


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess("--model-load", "background") as proc:
        # Jobs submitted while the model loads are held (queued) until it is ready; wait, so
        # each test sees the timeline it asks for (a slow CI machine takes seconds to load).
        deadline = time.monotonic() + 120
        while proc.request("GET", "/_mock/health")[1]["inference"]["state"] != "ready":
            assert time.monotonic() < deadline, "the model did not load"
            time.sleep(0.1)
        yield proc


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """Our own httpx client for the SDK, so every test closes its sockets."""
    with httpx.Client(timeout=60) as session:
        yield session


@pytest.fixture
def client(server: ServerProcess, http: httpx.Client) -> HumeClient:
    return HumeClient(api_key=KEY, base_url=server.url, httpx_client=http)


def batch(client: HumeClient) -> Any:
    return client.expression_measurement.batch


def wait_done(client: HumeClient, job_id: str, timeout: float = 60.0) -> Any:
    """Poll as Hume's own example does (doubling delay, capped), until COMPLETED or FAILED."""
    deadline, delay = time.monotonic() + timeout, 0.05
    while True:
        job = batch(client).get_job_details(id=job_id)
        if job.state.status in ("COMPLETED", "FAILED") or time.monotonic() > deadline:
            return job
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def advance(server: ServerProcess, seconds: float, tenant: str = "states") -> None:
    body = {"seconds": seconds, "tenant": tenant}
    status, _ = server.request("POST", "/_mock/clock/advance", body)
    assert status == 200


def test_every_state_variant_parses(server: ServerProcess, http: httpx.Client) -> None:
    # the manual profile for this tenant freezes its clock: nothing moves until advanced
    body = {"profile": "manual", "tenant": "states"}
    assert server.request("PUT", "/_mock/profile", body)[0] == 200
    client = HumeClient(api_key="states", base_url=server.url, httpx_client=http)
    job_id = batch(client).start_inference_job(text=["Hello there."])
    queued = batch(client).get_job_details(id=job_id)
    assert type(queued.state).__name__ == "StateInference_Queued"
    assert isinstance(queued.state.created_timestamp_ms, int)
    advance(server, 1)
    running = batch(client).get_job_details(id=job_id)
    assert type(running.state).__name__ == "StateInference_InProgress"
    advance(server, 1)
    done = batch(client).get_job_details(id=job_id)
    assert type(done.state).__name__ == "StateInference_Completed"
    assert done.state.num_predictions == 1 and done.state.num_errors == 0
    assert done.request.files == [] and done.type == "INFERENCE"


def test_the_done_when_job_mixed_inputs_all_models_callback(
    client: HumeClient, server: ServerProcess, serve: Callable[..., Receiver]
) -> None:
    receiver = serve()
    bundle = archive(
        "tar.gz",
        [
            ("media/sad.wav", media("audio/sad.wav")),
            ("media/sad.txt", media("audio/sad.txt")),
            ("media/frown.png", media("images/face_frown.png")),
            ("media/talk.mp4", media("video/face_audio.mp4")),
        ],
    )
    all_models = Models(
        face=Face(), burst={}, prosody=Prosody(), ner=Ner(),
        language=Language(granularity="sentence"), facemesh={},
    )  # fmt: skip
    config = InferenceBaseRequest(
        models=all_models,
        urls=["https://storage.example.com/uploads/happy.wav"],
        text=["What a wonderful surprise, thank you so much!"],
        callback_url=receiver.url,
    )
    with (MEDIA / "images" / "face_smile.jpg").open("rb") as photo:
        job_id = batch(client).start_inference_job_from_local_file(
            file=[
                photo,
                ("two_sentences.wav", media("audio/two_sentences.wav"), "audio/wav"),
                ("bundle.tar.gz", bundle, "application/gzip"),
            ],
            json=config,
        )
    job = wait_done(client, job_id)
    assert job.state.status == "COMPLETED", job.state
    assert [f.filename for f in job.request.files] == [
        "face_smile.jpg", "two_sentences.wav", "bundle.tar.gz"
    ]  # fmt: skip
    predictions = batch(client).get_job_predictions(id=job_id)
    assert [p.source.type for p in predictions] == ["url", "file", "file", "file", "text"]
    files = {pred.file: pred for p in predictions if p.results for pred in p.results.predictions}
    assert {"happy.wav", "face_smile.jpg", "two_sentences.wav", "media/sad.wav",
            "media/frown.png", "media/talk.mp4", "text"} <= set(files)  # fmt: skip
    smile = files["face_smile.jpg"].models.face.grouped_predictions[0].predictions[0]
    frown = files["media/frown.png"].models.face.grouped_predictions[0].predictions[0]
    joy = {s.name: s.score for s in smile.emotions}["Joy"]
    assert joy > {s.name: s.score for s in frown.emotions}["Joy"]
    talk = files["media/talk.mp4"]
    assert talk.models.face is not None and talk.models.prosody is not None
    sad = files["media/sad.wav"].models.language.grouped_predictions[0].predictions
    assert sad and all(item.time is not None for item in sad)
    text = files["text"].models.language.grouped_predictions[0].predictions[0]
    assert {s.name: s.score for s in text.emotions}["Gratitude"] > 0.2
    # the callback arrives (the server's scheduler sends it) and is in the delivery log
    deadline = time.monotonic() + 30
    while not receiver.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    (_, headers, body) = receiver.requests[0]
    payload = json.loads(body)
    assert payload["job_id"] == job_id and payload["status"] == "COMPLETED"
    assert len(payload["predictions"]) == 5
    status, log = server.request("GET", f"/_mock/webhooks?tenant={KEY}&job_id={job_id}")
    assert status == 200
    assert [d["status"] for d in log["deliveries"]] == ["delivered"]


def test_upload_variants_bytes_files_and_raw_client(client: HumeClient, tmp_path: Path) -> None:
    note = tmp_path / "note.txt"
    note.write_text("London calling.")
    config = InferenceBaseRequest(models=Models(language=Language(granularity="sentence")))
    with note.open("rb") as handle:
        helper_id = batch(client).start_inference_job_from_local_file(
            file=[handle, media("audio/happy.txt")], json=config
        )
    bare_id = batch(client).start_inference_job_from_local_file(file=[media("audio/happy.txt")])
    raw = batch(client).with_raw_response
    raw_with = raw.start_inference_job_from_local_file(file=[("a.txt", b"Rome.", "text/plain")],
                                                       json=config).data  # fmt: skip
    raw_without = raw.start_inference_job_from_local_file(file=[("b.txt", b"Oslo.", None)]).data
    for job_id, models in ((helper_id, {"language"}), (bare_id, None), (raw_with, {"language"}),
                           (raw_without, None)):  # fmt: skip
        job = wait_done(client, job_id)
        assert job.state.status == "COMPLETED"
        if models is not None:
            assert set(job.request.models.dict(exclude_none=True)) == models
    job = batch(client).get_job_details(id=helper_id)
    assert [(f.filename, f.content_type) for f in job.request.files] == [
        ("note.txt", "text/plain"), ("upload", "application/octet-stream")
    ]  # fmt: skip


def test_list_filters_as_the_sdk_sends_them(server: ServerProcess, http: httpx.Client) -> None:
    other = HumeClient(api_key="list-tenant", base_url=server.url, httpx_client=http)
    ids = [batch(other).start_inference_job(text=[str(i)]) for i in range(3)]
    listed = batch(other).list_jobs()
    assert [j.job_id for j in listed] == ids[::-1]
    asc = batch(other).list_jobs(limit=2, direction="asc", sort_by="created")
    assert [j.job_id for j in asc] == ids[:2]
    done = batch(other).list_jobs(status=["QUEUED", "COMPLETED"])
    assert len(done) == 3
    created = listed[1].state.created_timestamp_ms
    after = batch(other).list_jobs(when="created_after", timestamp_ms=created)
    assert all(j.state.created_timestamp_ms > created for j in after)
    assert batch(other).list_jobs(status="FAILED") == []


def test_artifacts_stream_and_helper(client: HumeClient, tmp_path: Path) -> None:
    job_id = batch(client).start_inference_job(
        urls=["https://example.com/two_faces.jpg"],
        models=Models(face=Face(save_faces=True, identify_faces=True)),
    )
    wait_done(client, job_id)
    data = b"".join(batch(client).get_job_artifacts(id=job_id))
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "face.csv" in names and any(n.startswith("faces/0/two_faces.jpg/") for n in names)
    target = tmp_path / "artifacts.zip"
    batch(client).get_and_write_job_artifacts(id=job_id, file_name=str(target))
    assert target.read_bytes() == data


def test_failed_job_and_api_errors(
    client: HumeClient, server: ServerProcess, http: httpx.Client
) -> None:
    job_id = batch(client).start_inference_job(
        text=["doomed"],
        request_options={"additional_headers": {"X-Mock-Lifecycle": '{"job_failure_rate": 1}'}},
    )
    job = wait_done(client, job_id)
    assert type(job.state).__name__ == "StateInference_Failed" and job.state.message
    with pytest.raises(ApiError) as early:
        batch(client).get_job_predictions(id=job_id, request_options=NO_RETRY)
    assert early.value.status_code == 400 and "failed" in early.value.body["message"]
    with pytest.raises(ApiError) as missing:
        batch(client).get_job_details(id="no-such-job")
    assert missing.value.status_code == 404 and missing.value.body == {"message": "job not found"}
    with pytest.raises(ApiError) as invalid:
        batch(client).start_inference_job(text=["x"], models=Models(face=Face(fps_pred=-1)))
    assert invalid.value.status_code == 400
    assert invalid.value.body["violations"][0]["pointer"] == "/models/face/fps_pred"
    anonymous = HumeClient(api_key=None, base_url=server.url, httpx_client=http)  # type: ignore[arg-type]
    with pytest.raises(ApiError) as unauthorised:
        batch(anonymous).list_jobs()
    assert unauthorised.value.status_code == 401 and "fault" in unauthorised.value.body


def test_prosody_language_options_round_trip(client: HumeClient) -> None:
    job_id = batch(client).start_inference_job(
        urls=["https://example.com/two_voices.wav"],
        models=Models(
            prosody=Prosody(granularity="conversational_turn", identify_speakers=True),
            language=Language(granularity="sentence", sentiment={}, toxicity={}),
            burst={},
        ),
        transcription=Transcription(language="en", confidence_threshold=0.5),
    )
    wait_done(client, job_id)
    (source,) = batch(client).get_job_predictions(id=job_id)
    assert source.results is not None
    (prediction,) = source.results.predictions
    groups = prediction.models.prosody.grouped_predictions
    assert {g.id for g in groups} == {"spk_0", "spk_1"}
    item = prediction.models.language.grouped_predictions[0].predictions[0]
    assert len(item.sentiment) == 9 and len(item.toxicity) == 6
    assert prediction.models.language.metadata.detected_language == "en"


def test_async_client_every_method(server: ServerProcess) -> None:
    async def scenario() -> None:
        async with httpx.AsyncClient(timeout=60) as session:
            await _async_methods(server, session)

    asyncio.run(scenario())


async def _async_methods(server: ServerProcess, session: httpx.AsyncClient) -> None:
    client = AsyncHumeClient(api_key="async-tenant", base_url=server.url, httpx_client=session)
    b = client.expression_measurement.batch
    job_id = await b.start_inference_job(text=["Async is fun"])
    upload_id = await b.start_inference_job_from_local_file(
        file=[("smile.png", media("images/face_smile.png"), "image/png")],
        json=InferenceBaseRequest(models=Models(face=Face())),
    )
    for _ in range(200):
        job = await b.get_job_details(id=upload_id)
        if job.state.status == "COMPLETED":
            break
        await asyncio.sleep(0.05)
    assert job.state.status == "COMPLETED"
    listed = await b.list_jobs(direction="asc")
    assert [j.job_id for j in listed] == [job_id, upload_id]
    predictions = await b.get_job_predictions(id=upload_id)
    assert predictions[0].results.predictions[0].models.face is not None
    chunks = [chunk async for chunk in b.get_job_artifacts(id=upload_id)]
    assert b"".join(chunks)[:2] == b"PK"
