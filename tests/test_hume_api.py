"""The Hume Batch API over HTTP, in process: every operation, input kind, error and lifecycle step.

Every response is checked against ``contracts/hume.yaml`` (``hume_helpers.checked``); the SDK's
own parser is the oracle in ``test_hume_sdk.py``.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockserver.app import create_app
from mockserver.engine.media import Limits
from mockserver.inference.labels import EXPRESSIONS, LANGUAGE_EMOTIONS
from mockserver.providers.hume import routes
from mockserver.runtime import Runtime
from mockserver.settings import Settings
from tests.conftest import FakeTime, RecordingClient
from tests.hume_helpers import HEADERS, JOBS, KEY, archive, checked, get, media, start

ALL_MODELS = {"face", "burst", "prosody", "language", "ner", "facemesh"}


@pytest.fixture
def hume(app: Flask, runtime: Runtime) -> FlaskClient:
    """A client of an app whose model has loaded (jobs are not held)."""
    runtime.inference.wait_ready(60)
    return app.test_client()


def manual_app(base_time: FakeTime, client: RecordingClient, **changes: Any) -> Flask:
    app = create_app(Settings().replace(profile="manual", **changes), base_clock=base_time,
                     http_client=client)  # fmt: skip
    app.extensions["mockserver"].inference.wait_ready(60)
    return app


@pytest.fixture
def manual(base_time: FakeTime, webhook_client: RecordingClient) -> Iterator[FlaskClient]:
    app = manual_app(base_time, webhook_client)
    yield app.test_client()
    app.extensions["mockserver"].close()


def advance(client: FlaskClient, seconds: float) -> None:
    response = client.post("/_mock/clock/advance", json={"seconds": seconds, "tenant": KEY})
    assert response.status_code == 200


# --- auth -------------------------------------------------------------------------------------


def test_missing_key_gets_the_gateway_fault(hume: FlaskClient) -> None:
    response = hume.get(JOBS)
    assert response.status_code == 401
    body = checked(response, "GET", JOBS)
    assert body["fault"]["detail"]["errorcode"] == "steps.oauth.v2.FailedToResolveAPIKey"


def test_key_in_query_string_is_accepted_as_old_clients_sent_it(hume: FlaskClient) -> None:
    for name in ("apiKey", "apikey"):
        assert hume.get(JOBS, query_string={name: KEY}).status_code == 200


def test_configured_keys_reject_others_with_invalid_api_key(
    base_time: FakeTime, webhook_client: RecordingClient
) -> None:
    settings = Settings().replace(api_keys="good-1,good-2")
    app = create_app(settings, base_clock=base_time, http_client=webhook_client)
    try:
        client = app.test_client()
        assert client.get(JOBS, headers={"X-Hume-Api-Key": "good-2"}).status_code == 200
        response = client.get(JOBS, headers={"X-Hume-Api-Key": "stolen"})
        assert response.status_code == 401
        body = checked(response, "GET", JOBS)
        assert body == {
            "fault": {
                "faultstring": "Invalid ApiKey",
                "detail": {"errorcode": "oauth.v2.InvalidApiKey"},
            }
        }
    finally:
        app.extensions["mockserver"].close()


def test_tenants_do_not_see_each_others_jobs(hume: FlaskClient) -> None:
    job_id = start(hume, {"text": ["hello"]})
    other = {"X-Hume-Api-Key": "someone-else"}
    response = hume.get(f"{JOBS}/{job_id}", headers=other)
    assert response.status_code == 404
    assert checked(response, "GET", f"{JOBS}/{job_id}") == {"message": "job not found"}
    assert hume.get(JOBS, headers=other).get_json() == []


# --- start: JSON ------------------------------------------------------------------------------


def test_request_echo_fills_every_default_and_no_models_means_all(hume: FlaskClient) -> None:
    job_id = start(hume, {"text": ["I am happy"], "urls": ["https://example.com/happy.wav"]})
    _, job = get(hume, f"{JOBS}/{job_id}")
    request = job["request"]
    assert set(request["models"]) == ALL_MODELS
    assert request["models"]["face"] == {
        "fps_pred": 3.0, "prob_threshold": 0.99, "identify_faces": False, "min_face_size": 60,
        "facs": None, "descriptions": None, "save_faces": False,
    }  # fmt: skip
    assert request["models"]["prosody"] == {
        "granularity": "utterance", "window": None, "identify_speakers": False,
    }  # fmt: skip
    assert request["models"]["language"]["granularity"] == "word"
    assert request["transcription"] == {
        "language": None, "identify_speakers": False, "confidence_threshold": 0.5,
    }  # fmt: skip
    assert request["files"] == [] and request["callback_url"] is None
    assert request["notify"] is False
    assert job["type"] == "INFERENCE" and job["job_id"] == job_id


def test_only_requested_models_are_echoed_and_window_defaults(hume: FlaskClient) -> None:
    job_id = start(
        hume,
        {
            "text": ["x"],
            "models": {"prosody": {"window": {"length": 2}}, "face": None},
            "transcription": None,
        },
    )
    _, job = get(hume, f"{JOBS}/{job_id}")
    assert job["request"]["models"] == {
        "prosody": {
            "granularity": "utterance",
            "window": {"length": 2.0, "step": 1.0},
            "identify_speakers": False,
        }
    }
    assert job["request"]["transcription"] is None


@pytest.mark.parametrize(
    ("body", "pointer", "rule"),
    [
        ({"text": ["x"], "models": {"voice": {}}}, "/models", "additionalProperties"),
        ({"text": ["x"], "models": {"face": {"fps_pred": -1}}}, "/models/face/fps_pred", "minimum"),
        ({"text": ["x"], "models": {"face": {"prob_threshold": 2}}}, "/models/face/prob_threshold",
         "maximum"),
        ({"text": ["x"], "models": {"prosody": {"granularity": "paragraph"}}},
         "/models/prosody/granularity", "enum"),
        ({"text": ["x"], "models": {"prosody": {"window": {"length": 0.1}}}},
         "/models/prosody/window/length", "minimum"),
        ({"text": "not a list"}, "/text", "type"),
        ({"urls": ["ftp://example.com/a.wav"]}, "/urls/0", "pattern"),
        ({"urls": [f"https://example.com/{i}.wav" for i in range(101)]}, "/urls", "maxItems"),
        ({"text": ["x"], "callback_url": "not a url"}, "/callback_url", "pattern"),
        ({"text": ["x"], "notify": "yes"}, "/notify", "type"),
        ({"text": ["x"], "transcription": {"confidence_threshold": 1.5}},
         "/transcription/confidence_threshold", "maximum"),
    ],
)  # fmt: skip
def test_contract_violations_name_the_pointer_and_rule(
    hume: FlaskClient, body: dict[str, Any], pointer: str, rule: str
) -> None:
    response = hume.post(JOBS, json=body, headers=HEADERS)
    assert response.status_code == 400
    error = checked(response, "POST", JOBS)
    assert error["message"].startswith("Invalid request: ")
    assert any(v["pointer"] == pointer and v["rule"] == rule for v in error["violations"]), error
    journal = hume.get("/_mock/journal").get_json()
    assert journal["entries"][0]["violations"], "the journal records what the client broke"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({}, "no inputs"),
        ({"urls": [], "text": []}, "no inputs"),
        ({"text": ["x"], "models": {}}, "names no model"),
        ({"text": ["x"], "models": {"face": None}}, "names no model"),
    ],
)
def test_semantic_errors(hume: FlaskClient, body: dict[str, Any], needle: str) -> None:
    response = hume.post(JOBS, json=body, headers=HEADERS)
    assert response.status_code == 400
    assert needle in checked(response, "POST", JOBS)["message"]


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        (b"[1, 2]", "application/json", 400),
        (b"{not json", "application/json", 400),
        (b"", "application/json", 400),
        (b"text=hello", "application/x-www-form-urlencoded", 415),
        (b"hello", "text/plain", 415),
    ],
)
def test_malformed_bodies_get_clear_errors(
    hume: FlaskClient, data: bytes, content_type: str, status: int
) -> None:
    response = hume.post(JOBS, data=data, content_type=content_type, headers=HEADERS)
    assert response.status_code == status
    assert checked(response, "POST", JOBS)["message"]


def test_wrong_method_and_unknown_path_answer_in_hume_shape(hume: FlaskClient) -> None:
    response = hume.delete(JOBS, headers=HEADERS)
    assert response.status_code == 405
    assert "not allowed" in response.get_json()["message"]  # no DELETE in the contract
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
    response = hume.get("/v0/batch/nowhere", headers=HEADERS)
    assert response.status_code == 404 and "message" in response.get_json()


def test_bad_lifecycle_header_is_a_400(hume: FlaskClient) -> None:
    for headers in ({"X-Mock-Profile": "warp"}, {"X-Mock-Lifecycle": '{"bogus": 1}'},
                    {"X-Mock-Lifecycle": "[1]"}):  # fmt: skip
        response = hume.post(JOBS, json={"text": ["x"]}, headers={**HEADERS, **headers})
        assert response.status_code == 400, headers
        assert checked(response, "POST", JOBS)["message"]


# --- start: multipart -------------------------------------------------------------------------


def _multipart(client: FlaskClient, fields: list[tuple[str, Any]]) -> Any:
    """POST a multipart body built by hand, parts in the order given."""
    boundary = "mockserver-test-boundary"
    chunks: list[bytes] = []
    for name, value in fields:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
        if isinstance(value, tuple):
            filename, data, ctype = value
            head += f'; filename="{filename}"'
            if ctype:
                head += f"\r\nContent-Type: {ctype}"
        else:
            data = value.encode() if isinstance(value, str) else value
        chunks.append(head.encode() + b"\r\n\r\n" + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return client.post(
        JOBS,
        data=b"".join(chunks),
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=HEADERS,
    )


CONFIG = json.dumps({"models": {"language": {}}, "text": ["also this"]}, separators=(", ", ": "))


@pytest.mark.parametrize(
    "json_part",
    [
        ("json", ("upload", CONFIG.encode(), "application/octet-stream")),  # SDK helper, last
        ("json", CONFIG),  # raw client: a plain field, first
        ("json", "null"),  # raw client without json
        ("json", ""),
        None,  # helper without json: no part at all
    ],
)
def test_every_multipart_json_encoding_the_sdk_sends(
    hume: FlaskClient, json_part: tuple[str, Any] | None
) -> None:
    files = [
        ("file", ("happy.txt", media("audio/happy.txt"), "text/plain")),
        ("file", ("upload", media("images/face_smile.png"), "application/octet-stream")),
        ("file", ("noctype.txt", b"plain words", None)),
    ]
    fields = files + [json_part] if json_part and json_part[1] != CONFIG else files
    if json_part is not None and json_part[1] == CONFIG:
        fields = [json_part, *files]
    response = _multipart(hume, fields)
    assert response.status_code == 200, response.get_json()
    job_id = checked(response, "POST", JOBS)["job_id"]
    _, job = get(hume, f"{JOBS}/{job_id}")
    files_echo = job["request"]["files"]
    assert [f["filename"] for f in files_echo] == ["happy.txt", "upload", "noctype.txt"]
    assert files_echo[0]["content_type"] == "text/plain"
    assert files_echo[2]["content_type"] is None
    import hashlib

    assert files_echo[1]["md5sum"] == hashlib.md5(media("images/face_smile.png")).hexdigest()
    configured = json_part is not None and json_part[1] not in ("null", "")
    assert set(job["request"]["models"]) == ({"language"} if configured else ALL_MODELS)
    assert job["request"]["text"] == (["also this"] if configured else [])


def test_multipart_errors(hume: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    bad_json = _multipart(hume, [("file", ("a.txt", b"x", None)), ("json", "{nope")])
    assert bad_json.status_code == 400 and "not valid JSON" in bad_json.get_json()["message"]
    not_object = _multipart(hume, [("file", ("a.txt", b"x", None)), ("json", "[1]")])
    assert not_object.status_code == 400
    wrong = '{"models": {"face": {"fps_pred": "fast"}}}'
    invalid = _multipart(hume, [("file", ("a.txt", b"x", None)), ("json", wrong)])
    assert invalid.status_code == 400
    assert invalid.get_json()["violations"][0]["pointer"] == "/models/face/fps_pred"
    no_filename = _multipart(hume, [("file", "hello world"), ("json", '{"text": ["x"]}')])
    assert no_filename.status_code == 400
    assert "no filename" in checked(no_filename, "POST", JOBS)["message"]
    too_many = _multipart(hume, [("file", (f"{i}.txt", b"x", None)) for i in range(101)])
    assert too_many.status_code == 400 and "limit is 100" in too_many.get_json()["message"]
    monkeypatch.setattr(routes, "UPLOAD_LIMITS", Limits(max_file_bytes=1000))
    too_big = _multipart(hume, [("file", ("big.wav", b"\0" * 1001, None))])
    assert too_big.status_code == 413
    assert "big.wav" in checked(too_big, "POST", JOBS)["message"]
    assert hume.get(JOBS, headers=HEADERS).get_json() == [], "no job from a refused request"


# --- predictions ------------------------------------------------------------------------------


def _scores(items: list[dict[str, Any]]) -> dict[str, float]:
    return {s["name"]: s["score"] for s in items}


def test_mixed_job_predicts_every_source_with_sensible_scores(hume: FlaskClient) -> None:
    bundle = archive(
        "tar.gz",
        [
            ("clips/sad.wav", media("audio/sad.wav")),
            ("clips/sad.txt", media("audio/sad.txt")),
            ("faces/frown.jpg", media("images/face_frown.jpg")),
            ("notes/readme.txt", b"Paris is lovely in spring."),
        ],
    )
    response = _multipart(
        hume,
        [
            ("file", ("smile.png", media("images/face_smile.png"), "image/png")),
            ("file", ("happy.wav", media("audio/happy.wav"), "audio/wav")),
            ("file", ("media.tar.gz", bundle, "application/gzip")),
            ("json", json.dumps({"urls": ["https://example.com/two_faces.png"],
                                 "text": ["I am so grateful, thank you!"],
                                 "models": {"face": {"identify_faces": True}, "language": {
                                     "sentiment": {}, "granularity": "sentence"},
                                     "ner": {}, "prosody": {}, "burst": {}, "facemesh": {}}})),
        ],
    )  # fmt: skip
    job_id = checked(response, "POST", JOBS)["job_id"]
    status, predictions = get(hume, f"{JOBS}/{job_id}/predictions")
    assert status == 200
    kinds = [p["source"]["type"] for p in predictions]
    assert kinds == ["url", "file", "file", "file", "text"]
    by_file = {
        pred["file"]: pred for source in predictions for pred in source["results"]["predictions"]
    }
    assert set(by_file) == {"two_faces.png", "smile.png", "happy.wav", "clips/sad.wav",
                            "faces/frown.jpg", "notes/readme.txt", "text"}  # fmt: skip
    two = by_file["two_faces.png"]["models"]["face"]["grouped_predictions"]
    assert sorted(g["id"] for g in two) == ["face_0", "face_1"]
    smile = by_file["smile.png"]["models"]["face"]["grouped_predictions"][0]["predictions"][0]
    frown = by_file["faces/frown.jpg"]["models"]["face"]["grouped_predictions"][0]["predictions"][0]
    assert _scores(smile["emotions"])["Joy"] > _scores(frown["emotions"])["Joy"]
    assert [s["name"] for s in smile["emotions"]] == list(EXPRESSIONS)
    assert smile["time"] == 0.0 and smile["frame"] == 0 and smile["facs"] is None
    sad = by_file["clips/sad.wav"]
    assert sad["file_type"] == "audio"
    language = sad["models"]["language"]
    assert language["metadata"]["confidence"] >= 0.5
    item = language["grouped_predictions"][0]["predictions"][0]
    assert [s["name"] for s in item["emotions"]] == list(LANGUAGE_EMOTIONS)
    assert item["time"] is not None and len(item["sentiment"]) == 9
    text = by_file["text"]["models"]["language"]["grouped_predictions"][0]["predictions"][0]
    assert text["time"] is None and text["position"] == {"begin": 0, "end": 28}
    assert _scores(text["emotions"])["Gratitude"] > 0.2
    entities = by_file["notes/readme.txt"]["models"]["ner"]["grouped_predictions"][0]
    assert entities["predictions"][0]["entity"] == "Paris"
    _, job = get(hume, f"{JOBS}/{job_id}")
    state = job["state"]
    assert state["status"] == "COMPLETED"
    assert state["num_predictions"] == len(by_file)
    assert state["num_errors"] == sum(len(s["results"]["errors"]) for s in predictions)


@pytest.mark.parametrize("kind", ["zip", "tar.gz", "tar.bz2", "tar.xz"])
def test_each_archive_kind_expands_with_member_paths(hume: FlaskClient, kind: str) -> None:
    bundle = archive(kind, [("a/smile.png", media("images/face_smile.png")),
                            ("b/words.txt", b"Hello from Berlin.")])  # fmt: skip
    response = _multipart(hume, [("file", (f"bundle.{kind}", bundle, None))])
    job_id = checked(response, "POST", JOBS)["job_id"]
    _, predictions = get(hume, f"{JOBS}/{job_id}/predictions")
    files = [p["file"] for p in predictions[0]["results"]["predictions"]]
    assert files == ["a/smile.png", "b/words.txt"]


def test_per_file_and_source_level_errors(hume: FlaskClient) -> None:
    response = _multipart(
        hume,
        [
            ("file", ("speech.wav", media("audio/happy.wav"), None)),  # no sidecar: placeholder
            ("file", ("broken.zip", b"PK\x03\x04 this is not a zip", None)),
            ("file", ("landscape.png", media("images/landscape.png"), None)),
            ("json", json.dumps({"models": {"language": {}}})),
        ],
    )
    job_id = checked(response, "POST", JOBS)["job_id"]
    _, predictions = get(hume, f"{JOBS}/{job_id}/predictions")
    speech, broken, landscape = predictions
    assert speech["results"]["errors"] == [
        {"message": "transcript confidence (0.3) below threshold value (0.5)", "file": "speech.wav"}
    ]
    assert "error" in broken and "results" not in broken
    (error,) = landscape["results"]["errors"]
    assert error["file"] == "landscape.png" and "No requested model applies" in error["message"]
    _, job = get(hume, f"{JOBS}/{job_id}")
    assert job["state"]["num_predictions"] == 0 and job["state"]["num_errors"] == 3


def test_lower_threshold_accepts_the_placeholder_transcript(hume: FlaskClient) -> None:
    config = {"models": {"language": {}}, "transcription": {"confidence_threshold": 0.2}}
    response = _multipart(hume, [("file", ("speech.wav", media("audio/happy.wav"), None)),
                                 ("json", json.dumps(config))])  # fmt: skip
    job_id = checked(response, "POST", JOBS)["job_id"]
    _, predictions = get(hume, f"{JOBS}/{job_id}/predictions")
    assert predictions[0]["results"]["errors"] == []
    block = predictions[0]["results"]["predictions"][0]["models"]["language"]
    assert block["metadata"]["confidence"] == pytest.approx(0.3)


def test_url_sidecar_gives_the_transcript(hume: FlaskClient) -> None:
    job_id = start(hume, {"urls": ["https://example.com/happy.wav"],
                          "models": {"language": {"granularity": "word"}}})  # fmt: skip
    _, predictions = get(hume, f"{JOBS}/{job_id}/predictions")
    words = predictions[0]["results"]["predictions"][0]["models"]["language"]
    text = " ".join(p["text"] for p in words["grouped_predictions"][0]["predictions"])
    assert text.rstrip(".!") in media("audio/happy.txt").decode().strip()


def test_identify_speakers_and_window(hume: FlaskClient) -> None:
    turns = {"identify_speakers": True, "granularity": "conversational_turn"}
    job_id = start(
        hume, {"urls": ["https://example.com/two_voices.wav"], "models": {"prosody": turns}}
    )
    _, predictions = get(hume, f"{JOBS}/{job_id}/predictions")
    groups = predictions[0]["results"]["predictions"][0]["models"]["prosody"]["grouped_predictions"]
    assert sorted(g["id"] for g in groups) == ["spk_0", "spk_1"]
    window = {"window": {"length": 1, "step": 0.5}}
    job_id = start(hume, {"urls": ["https://example.com/sigh.wav"], "models": {"prosody": window}})
    _, predictions = get(hume, f"{JOBS}/{job_id}/predictions")
    items = predictions[0]["results"]["predictions"][0]["models"]["prosody"]
    times = [p["time"] for p in items["grouped_predictions"][0]["predictions"]]
    assert times[0] == {"begin": 0.0, "end": 1.0} and times[1]["begin"] == 0.5


def test_face_options_facs_descriptions_and_video(hume: FlaskClient) -> None:
    job_id = start(hume, {"urls": ["https://example.com/face_moving.mp4"],
                          "models": {"face": {"fps_pred": 1, "facs": {}, "descriptions": {},
                                              "identify_faces": True}}})  # fmt: skip
    _, predictions = get(hume, f"{JOBS}/{job_id}/predictions")
    prediction = predictions[0]["results"]["predictions"][0]
    assert prediction["file_type"] == "video_no_audio"
    items = prediction["models"]["face"]["grouped_predictions"][0]["predictions"]
    assert len(items) >= 2 and items[1]["time"] > items[0]["time"]
    assert items[0]["facs"] and items[0]["descriptions"]
    job_id = start(hume, {"urls": ["https://example.com/face_smile.png"],
                          "models": {"face": {"min_face_size": 5000}}})  # fmt: skip
    _, predictions = get(hume, f"{JOBS}/{job_id}/predictions")
    assert predictions[0]["results"]["predictions"][0]["models"]["face"] == {
        "metadata": None, "grouped_predictions": []
    }  # fmt: skip


# --- lifecycle, list, callback, artifacts ------------------------------------------------------


def test_lifecycle_timestamps_and_early_reads(manual: FlaskClient) -> None:
    job_id = start(manual, {"text": ["hello"]})
    _, job = get(manual, f"{JOBS}/{job_id}")
    assert job["state"] == {
        "status": "QUEUED",
        "created_timestamp_ms": job["state"]["created_timestamp_ms"],
    }
    for what in ("predictions", "artifacts"):
        response = manual.get(f"{JOBS}/{job_id}/{what}", headers=HEADERS)
        assert response.status_code == 400
        assert "QUEUED" in checked(response, "GET", f"{JOBS}/{job_id}/{what}")["message"]
    advance(manual, 1)
    _, job = get(manual, f"{JOBS}/{job_id}")
    state = job["state"]
    assert state["status"] == "IN_PROGRESS"
    assert state["started_timestamp_ms"] - state["created_timestamp_ms"] == 1000
    advance(manual, 1)
    _, job = get(manual, f"{JOBS}/{job_id}")
    state = job["state"]
    assert (
        state["status"] == "COMPLETED"
        and state["ended_timestamp_ms"] - state["started_timestamp_ms"] == 1000
    )
    assert state["num_predictions"] == 1 and state["num_errors"] == 0


def test_failed_job_and_its_callback(base_time: FakeTime, webhook_client: RecordingClient) -> None:
    app = manual_app(base_time, webhook_client)
    try:
        client = app.test_client()
        failing = {"job_failure_rate": 1, "job_failure_message": "GPU fell over"}
        job_id = start(
            client,
            {"text": ["hello"], "callback_url": "http://127.0.0.1:9/hook"},
            **{"X-Mock-Lifecycle": json.dumps(failing)},
        )
        advance(client, 5)
        _, job = get(client, f"{JOBS}/{job_id}")
        assert job["state"]["status"] == "FAILED" and job["state"]["message"] == "GPU fell over"
        assert {"started_timestamp_ms", "ended_timestamp_ms"} <= set(job["state"])
        response = client.get(f"{JOBS}/{job_id}/predictions", headers=HEADERS)
        assert response.status_code == 400 and "failed" in response.get_json()["message"]
        app.extensions["mockserver"].scheduler.run_due()
        (call,) = webhook_client.calls
        assert json.loads(call["body"]) == {
            "job_id": job_id, "status": "FAILED", "predictions": [], "message": "GPU fell over"
        }  # fmt: skip
    finally:
        app.extensions["mockserver"].close()


def test_completed_callback_and_notify_are_in_the_delivery_log(
    hume: FlaskClient, runtime: Runtime, webhook_client: RecordingClient
) -> None:
    job_id = start(hume, {"text": ["hello"], "callback_url": "http://127.0.0.1:9/cb",
                          "notify": True})  # fmt: skip
    runtime.scheduler.run_due()
    (call,) = webhook_client.calls
    payload = json.loads(call["body"])
    _, predictions = get(hume, f"{JOBS}/{job_id}/predictions")
    assert payload == {"job_id": job_id, "status": "COMPLETED", "predictions": predictions}
    log = hume.get("/_mock/webhooks", query_string={"tenant": KEY}).get_json()["deliveries"]
    events = sorted((d["event"], d["status"]) for d in log)
    assert events == [("hume.job.completed", "delivered"), ("hume.notify.email", "delivered")]


def test_item_failures_become_source_errors(hume: FlaskClient) -> None:
    job_id = start(hume, {"text": ["a", "b"]}, **{
        "X-Mock-Lifecycle": '{"item_error_rate": 1, "error_messages": ["media server timeout"]}'
    })  # fmt: skip
    _, predictions = get(hume, f"{JOBS}/{job_id}/predictions")
    assert predictions == [{"source": {"type": "text"}, "error": "media server timeout"}] * 2
    _, job = get(hume, f"{JOBS}/{job_id}")
    assert job["state"]["num_errors"] == 2


def test_list_filters_sorting_and_limit(manual: FlaskClient) -> None:
    first = start(manual, {"text": ["1"]})
    advance(manual, 1)
    second = start(manual, {"text": ["2"]})
    advance(manual, 1)  # first done, second running
    third = start(manual, {"text": ["3"]})
    _, jobs = get(manual, JOBS)
    assert [j["job_id"] for j in jobs] == [third, second, first]
    response = manual.get(JOBS + "?status=QUEUED&status=COMPLETED", headers=HEADERS)
    assert [j["job_id"] for j in checked(response, "GET", JOBS)] == [third, first]
    _, asc = get(manual, JOBS, direction="asc", limit=2)
    assert [j["job_id"] for j in asc] == [first, second]
    _, ended = get(manual, JOBS, sort_by="ended")
    assert [j["job_id"] for j in ended] == [first, third, second] or ended[0]["job_id"] == first
    created = jobs[1]["state"]["created_timestamp_ms"]
    _, before = get(manual, JOBS, when="created_before", timestamp_ms=created)
    assert [j["job_id"] for j in before] == [first]
    _, after = get(manual, JOBS, when="created_after", timestamp_ms=created)
    assert [j["job_id"] for j in after] == [third]
    for bad in ({"status": "DONE"}, {"limit": "many"}, {"sort_by": "name"}, {"when": "today"}):
        response = manual.get(JOBS, query_string=bad, headers=HEADERS)
        assert response.status_code == 400, bad
        assert checked(response, "GET", JOBS)["violations"]


def test_artifacts_zip_has_a_csv_per_model_and_face_crops(hume: FlaskClient) -> None:
    job_id = start(hume, {"urls": ["https://example.com/two_faces.png"], "text": ["Hi Paris"],
                          "models": {"face": {"save_faces": True, "identify_faces": True},
                                     "language": {}, "ner": {}}})  # fmt: skip
    response = hume.get(f"{JOBS}/{job_id}/artifacts", headers=HEADERS)
    assert response.status_code == 200
    data = checked(response, "GET", f"{JOBS}/{job_id}/artifacts")
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names[:4] == ["README.txt", "face.csv", "language.csv", "ner.csv"]
    assert sorted(n for n in names if n.startswith("faces/")) == [
        "faces/0/two_faces.png/0_face_0.png", "faces/0/two_faces.png/0_face_1.png"
    ]  # fmt: skip
    assert response.headers["Content-Disposition"].endswith('-artifacts.zip"')


def test_results_are_deterministic_across_servers(
    base_time: FakeTime, webhook_client: RecordingClient
) -> None:
    outputs = []
    for _ in range(2):
        app = create_app(Settings(), base_clock=base_time, http_client=webhook_client)
        try:
            app.extensions["mockserver"].inference.wait_ready(60)
            client = app.test_client()
            job_id = start(client, {"urls": ["https://example.com/happy.wav",
                                             "https://example.com/face_smile.jpg"],
                                    "text": ["Seeds replay runs."]})  # fmt: skip
            outputs.append((job_id, get(client, f"{JOBS}/{job_id}/predictions")[1]))
        finally:
            app.extensions["mockserver"].close()
    assert outputs[0] == outputs[1]


def test_a_job_submitted_while_the_model_loads_is_held_then_completes(
    base_time: FakeTime, webhook_client: RecordingClient
) -> None:
    app = create_app(Settings().replace(model_load="lazy"), base_clock=base_time,
                     http_client=webhook_client)  # fmt: skip
    runtime: Runtime = app.extensions["mockserver"]
    try:
        client = app.test_client()
        assert not runtime.inference.ready
        job_id = start(client, {"text": ["hello"]})
        runtime.inference.wait_ready(60)
        deadline = 200
        while deadline and get(client, f"{JOBS}/{job_id}")[1]["state"]["status"] != "COMPLETED":
            import time

            time.sleep(0.05)
            deadline -= 1
        assert get(client, f"{JOBS}/{job_id}")[1]["state"]["status"] == "COMPLETED"
    finally:
        runtime.close()
