"""Eden AI v2 async face through the Flask test client: paths, auth, field rules, lifecycle,
results, the list quirk, delete-all, webhooks and their RSA signatures, batches.

Result *content* is the builders' business (``test_eden_features_*.py``); here a recording
builder stands in so each test says exactly what the face did with the request, and the
faithfulness rules (``../shared/reference/edenai-async.md``) are pinned one by one. The
end-to-end flows with the real builders and a real server are in ``test_eden_flow.py``.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient

from mockserver.app import create_app
from mockserver.providers.edenai.catalog import BATCH_SUBFEATURES, SUBFEATURES
from mockserver.providers.edenai.features import Input
from mockserver.providers.edenai.signing import KEY_BLOB, verify
from mockserver.runtime import SAMPLES_DIR
from mockserver.settings import Settings, SettingsError
from tests.conftest import FakeTime, RecordingClient
from tests.eden_helpers import FakeBuilders, fake_builders

KEY = "eden-test-key"
AUTH = {"Authorization": f"Bearer {KEY}", "accept": "application/json"}
STT = "/v2/audio/speech_to_text_async"
WAV = (SAMPLES_DIR / "audio" / "two_voices.wav").read_bytes()
HOOK = "http://127.0.0.1:9/hook"


@pytest.fixture
def fake() -> Iterator[FakeBuilders]:
    with fake_builders() as fakes:
        yield fakes


@pytest.fixture
def settings() -> Settings:
    return Settings().replace(model_load="lazy")


@pytest.fixture
def app(
    settings: Settings, base_time: FakeTime, webhook_client: RecordingClient, fake: FakeBuilders
) -> Iterator[Flask]:
    app = create_app(settings, base_clock=base_time, http_client=webhook_client)
    runtime = app.extensions["mockserver"]
    runtime.inference.start()
    runtime.inference.wait_ready(60)
    yield app
    runtime.close()


def launch(client: FlaskClient, path: str = STT, expect: int = 200, **fields: Any) -> Any:
    """A multipart launch with the seed document's fields and a WAV upload."""
    data: dict[str, Any] = {"providers": "amazon", "language": "en", **fields}
    if "file" not in fields and "file_url" not in fields:
        data["file"] = (io.BytesIO(WAV), "audio.wav", "audio/x-wav")
    data = {k: v for k, v in data.items() if v is not None}
    response = client.post(path, headers=AUTH, data=data, content_type="multipart/form-data")
    assert response.status_code == expect, response.get_data(as_text=True)
    return response.get_json()


def get(client: FlaskClient, public_id: str, path: str = STT, **query: str) -> Any:
    response = client.get(f"{path}/{public_id}/", headers=AUTH, query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def settle(app: Flask) -> None:
    app.extensions["mockserver"].scheduler.run_due()


def field_errors(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) >= {"error"} and body["error"]["type"] == "Invalid request"
    message: dict[str, list[str]] = body["error"]["message"]
    return message


# --- the seed document's flow ------------------------------------------------------------------


def test_the_documents_launch_then_poll_until_finished(
    client: FlaskClient, fake: FakeBuilders
) -> None:
    created = launch(client, speakers="2", profanity_filter="false", webhook_receiver=HOOK)
    assert set(created) == {"public_id"} and uuid.UUID(created["public_id"])
    body = get(client, created["public_id"])
    assert body["status"] == "finished" and body["error"] is None
    result = body["results"]["amazon"]
    assert (result["final_status"], result["error"], result["cost"]) == ("succeeded", None, 0.0125)
    # The upload's bytes reached the builder, with the sidecar text found by content.
    assert (
        result["text"] == f"amazon:{len(WAV)}:Hello, how are you today? I am fine, thank you."
        " Good to hear."
    )
    call, source = fake.calls[0]
    assert (call.params["speakers"], call.params["profanity_filter"]) == (2, False)
    assert (source.media_type, source.filename) == ("audio/wav", "audio.wav")
    assert "original_response" not in result


@pytest.mark.parametrize("slash", ["", "/"])
def test_every_operation_answers_with_and_without_the_trailing_slash(
    client: FlaskClient, slash: str
) -> None:
    response = client.post(
        STT + slash,
        headers=AUTH,
        data={"providers": "amazon", "file": (io.BytesIO(WAV), "a.wav")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    public_id = response.get_json()["public_id"]
    assert client.get(f"{STT}/{public_id}{slash}", headers=AUTH).status_code == 200
    assert client.get(STT + slash, headers=AUTH).get_json()["jobs"][0]["public_id"] == public_id
    assert client.delete(STT + slash, headers=AUTH).status_code == 204


def test_every_subfeature_of_the_catalog_is_served(client: FlaskClient) -> None:
    for path in SUBFEATURES:
        listed = client.get(f"/v2/{path}/", headers=AUTH)
        assert (listed.status_code, listed.get_json()) == (200, {"jobs": []}), path
    assert len(SUBFEATURES) == 17


# --- auth and routing --------------------------------------------------------------------------


def test_auth_is_a_bearer_key_and_failures_are_403_error_bodies(client: FlaskClient) -> None:
    for headers in (
        {},
        {"Authorization": KEY},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic x"},
    ):
        response = client.get(STT, headers=headers)
        assert response.status_code == 403
        assert response.get_json() == {
            "error": {
                "type": "NotAuthenticated",
                "message": "Authentication credentials were not provided.",
            }
        }


@pytest.mark.parametrize("settings", [Settings().replace(api_keys="good", model_load="lazy")])
def test_a_key_outside_api_keys_is_refused(client: FlaskClient) -> None:
    response = client.get(STT, headers={"Authorization": "Bearer bad"})
    assert response.status_code == 403
    assert response.get_json()["error"]["type"] == "AuthenticationFailed"
    assert client.get(STT, headers={"Authorization": "Bearer good"}).status_code == 200


def test_tenants_are_isolated_by_key(client: FlaskClient) -> None:
    public_id = launch(client)["public_id"]
    other = {"Authorization": "Bearer someone-else"}
    assert client.get(f"{STT}/{public_id}/", headers=other).status_code == 404
    assert client.get(STT, headers=other).get_json() == {"jobs": []}


def test_unknown_paths_ids_and_methods_get_edens_shapes(client: FlaskClient) -> None:
    for path in (
        "/v2/audio/nope/",
        "/v2/text/speech_to_text_async/",
        f"{STT}/{uuid.uuid4()}/",
        f"{STT}/not-a-uuid/",
        "/v2/ocr/ocr_async/batch/x/",
    ):
        response = client.get(path, headers=AUTH)
        assert (response.status_code, response.get_json()) == (404, {"details": "Not Found"}), path
    public_id = launch(client)["public_id"]
    assert client.get(f"/v2/ocr/ocr_async/{public_id}/", headers=AUTH).status_code == 404
    response = client.put(STT, headers=AUTH)
    assert response.status_code == 405
    assert response.get_json() == {
        "error": {"type": "MethodNotAllowed", "message": 'Method "PUT" not allowed.'}
    }


# --- request fields ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "providers",
    [
        "amazon,google/latest_long",
        " amazon , google/latest_long ",
        "['amazon', 'google/latest_long']",
        '["amazon", "google/latest_long"]',
        "amazon,google/latest_long,amazon",
    ],
)
def test_providers_as_string_list_repr_or_json_with_models(
    client: FlaskClient, fake: FakeBuilders, providers: str
) -> None:
    body = get(client, launch(client, providers=providers)["public_id"])
    assert list(body["results"]) == ["amazon", "google/latest_long"]
    assert [(c.provider, c.model) for c, _ in fake.calls] == [
        ("amazon", None),
        ("google", "latest_long"),
    ]


def test_a_json_launch_takes_a_list_and_file_url_and_langchains_extra_keys(
    client: FlaskClient, fake: FakeBuilders
) -> None:
    response = client.post(
        STT,
        headers=AUTH,
        json={
            "providers": ["amazon"],
            "file_url": "https://example.com/audio/happy.wav",
            "language": "en",
            "response_as_dict": True,
            "attributes_as_list": False,
            "show_original_response": True,
        },
    )
    assert response.status_code == 200, response.get_json()
    result = get(client, response.get_json()["public_id"])["results"]["amazon"]
    assert result["text"].endswith(":What a wonderful surprise! I am so happy to see you.")
    assert result["original_response"] == {"native": "amazon"}
    assert fake.calls[0][1].url == "https://example.com/audio/happy.wav"


def test_a_urlencoded_launch_is_read_like_a_form(client: FlaskClient) -> None:
    response = client.post(
        STT,
        headers=AUTH,
        data={"providers": "amazon", "file_url": "https://example.com/happy.wav"},
    )
    assert response.status_code == 200, response.get_json()


def test_bad_fields_are_listed_per_field_in_one_400(client: FlaskClient) -> None:
    errors = field_errors(
        client.post(
            STT,
            headers=AUTH,
            json={
                "providers": "amazon,nope",
                "speakers": "two",
                "profanity_filter": "maybe",
                "settings": "[1]",
                "fallback_providers": ["a", "b", "c", "d", "e", "f"],
                "webhook_receiver": "not a url",
            },
        )
    )
    assert errors == {
        "speakers": ["A valid integer is required."],
        "profanity_filter": ["Must be a valid boolean."],
        "webhook_receiver": ["Enter a valid URL."],
        "providers": [
            "Provider(s) 'nope' not available for audio speech_to_text_async. Available: faker,"
            " assembly, deepgram, gladia, microsoft, oneai, symbl, voxist, google, voci,"
            " speechmatics, amazon, openai."
        ],
        "fallback_providers": ["Ensure this field has no more than 5 elements."],
        "settings": ['Expected a dictionary of items but got type "str".'],
        "file": ["Please provide a file or a file_url."],
    }


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"providers": None}, {"providers": ["This field is required."]}),
        ({"providers": " "}, {"providers": ["This field may not be blank."]}),
        ({"speakers": "0"}, {"speakers": ["Ensure this value is greater than or equal to 1."]}),
        (
            {"file_url": "https://example.com/happy.wav"},
            {"file": ["Please provide either file or file_url, not both."]},
        ),
        ({"file_url": "https://nowhere.test/x.wav", "file": None}, None),
        (
            {"users_webhook_parameters": "{oops"},
            {"users_webhook_parameters": ["Value must be valid JSON."]},
        ),
    ],
)
def test_form_field_errors(
    client: FlaskClient, fields: dict[str, Any], expected: dict[str, list[str]] | None
) -> None:
    data: dict[str, Any] = {"providers": "amazon", "file": (io.BytesIO(WAV), "a.wav")}
    data.update(fields)
    data = {k: v for k, v in data.items() if v is not None}
    errors = field_errors(
        client.post(STT, headers=AUTH, data=data, content_type="multipart/form-data")
    )
    if expected is None:  # an unresolvable URL: the resolver's sentence, under file_url
        assert list(errors) == ["file_url"] and "No media for" in errors["file_url"][0]
    else:
        assert errors == expected


def test_the_file_must_be_of_a_family_the_subfeature_takes(client: FlaskClient) -> None:
    png = (SAMPLES_DIR / "images" / "face_smile.png").read_bytes()
    errors = field_errors(
        client.post(
            STT,
            headers=AUTH,
            data={"providers": "amazon", "file": (io.BytesIO(png), "a.wav")},
            content_type="multipart/form-data",
        )
    )
    assert errors == {
        "file": [
            "Unsupported file type 'image/png': audio/speech_to_text_async takes audio or video"
            " files."
        ]
    }


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"{oops", "application/json", "JSON parse error"),
        (b"[1]", "application/json", "Invalid data. Expected a dictionary, but got list."),
        (b"providers=amazon", "text/plain", 'Unsupported media type "text/plain" in request.'),
    ],
)
def test_unreadable_bodies_are_non_field_errors(
    client: FlaskClient, body: bytes, content_type: str, message: str
) -> None:
    errors = field_errors(client.post(STT, headers=AUTH, data=body, content_type=content_type))
    assert list(errors) == ["non_field_errors"] and message in errors["non_field_errors"][0]


def test_a_file_in_a_json_body_is_refused(client: FlaskClient) -> None:
    errors = field_errors(client.post(STT, headers=AUTH, json={"providers": "amazon", "file": "x"}))
    assert list(errors) == ["file"]


def test_text_to_speech_needs_text_and_takes_no_file(
    client: FlaskClient, fake: FakeBuilders
) -> None:
    path = "/v2/audio/text_to_speech_async"
    errors = field_errors(
        client.post(path, headers=AUTH, json={"providers": "amazon", "option": "CHILD"})
    )
    assert errors == {
        "text": ["This field is required."],
        "option": ['"CHILD" is not a valid choice.'],
    }
    created = client.post(path, headers=AUTH, json={"providers": "lovoai", "text": "Hello there."})
    result = get(client, created.get_json()["public_id"], path)["results"]["lovoai"]
    # A generated file is served where its result points.
    url = result["audio_resource_url"]
    assert url.startswith("http://localhost/_mock/edenai/resources/")
    fetched = client.get(url.removeprefix("http://localhost"))
    assert (fetched.status_code, fetched.mimetype, fetched.data) == (200, "audio/mpeg", b"ID3abc")
    assert fake.calls[0][1] == Input()


def test_custom_document_parsing_queries_must_be_query_objects(
    client: FlaskClient, fake: FakeBuilders
) -> None:
    path = "/v2/ocr/custom_document_parsing_async"
    pdf = b"%PDF-1.4\n%%EOF\n"

    def send(queries: str) -> Any:
        return client.post(
            path,
            headers=AUTH,
            data={"providers": "amazon", "queries": queries, "file": (io.BytesIO(pdf), "a.pdf")},
            content_type="multipart/form-data",
        )

    for queries, expected in (
        ("[]", "Queries must be a non-empty list of {query, pages} objects."),
        ('[{"pages": "1"}]', "Each query must be an object with a 'query' string."),
        ('[{"query": " "}]', "A query must not be empty."),
        ("{oops", "Queries must be a JSON list of {query, pages} objects."),
    ):
        assert field_errors(send(queries)) == {"queries": [expected]}
    # The spec's own example is a Python literal; bare strings get every page.
    assert send("[{'query': 'What is the total?', 'pages': '1'}, 'Who pays?']").status_code == 200
    assert fake.calls == []
    get(client, client.get(path, headers=AUTH).get_json()["jobs"][0]["public_id"], path)
    assert fake.calls[0][0].params["queries"] == [
        {"query": "What is the total?", "pages": "1"},
        {"query": "Who pays?", "pages": "1-*"},
    ]


# --- lifecycle and results ----------------------------------------------------------------------


def test_providers_appear_as_they_end_under_a_manual_profile(
    client: FlaskClient, app: Flask
) -> None:
    response = client.post(
        STT,
        headers={**AUTH, "X-Mock-Profile": "manual"},
        data={"providers": "amazon,google", "file": (io.BytesIO(WAV), "a.wav")},
        content_type="multipart/form-data",
    )
    public_id = response.get_json()["public_id"]
    assert get(client, public_id) == {
        "public_id": public_id,
        "status": "processing",
        "error": None,
        "results": {},
    }
    engine = app.extensions["mockserver"].engine
    job = engine.get(public_id)
    while not engine.view(job).terminal:
        job = engine.step(job)
    assert get(client, public_id)["status"] == "finished"


def test_one_provider_fails_while_the_other_succeeds(
    client: FlaskClient, fake: FakeBuilders
) -> None:
    fake.fail["google"] = "Audio file is too short for google"
    body = get(client, launch(client, providers="amazon,google")["public_id"])
    assert body["status"] == "finished"
    amazon, google = body["results"]["amazon"], body["results"]["google"]
    assert (amazon["final_status"], amazon["error"]) == ("succeeded", None)
    assert google == {
        "id": google["id"],
        "final_status": "failed",
        "error": {"type": "ProviderException", "message": "Audio file is too short for google"},
        "cost": 0.0,
    }


def test_profile_item_failures_become_provider_errors(client: FlaskClient) -> None:
    lifecycle = json.dumps({"item_error_rate": 1})
    response = client.post(
        STT,
        headers={**AUTH, "X-Mock-Lifecycle": lifecycle},
        data={"providers": "amazon", "file": (io.BytesIO(WAV), "a.wav")},
        content_type="multipart/form-data",
    )
    result = get(client, response.get_json()["public_id"])["results"]["amazon"]
    assert result["final_status"] == "failed"
    assert result["error"]["message"] != "item failed"  # a provider-like sentence instead


def test_a_whole_job_failure_has_a_top_level_error(client: FlaskClient) -> None:
    response = client.post(
        STT,
        headers={**AUTH, "X-Mock-Lifecycle": json.dumps({"job_failure_rate": 1})},
        data={"providers": "amazon", "file": (io.BytesIO(WAV), "a.wav")},
        content_type="multipart/form-data",
    )
    body = get(client, response.get_json()["public_id"])
    assert body["status"] == "failed" and isinstance(body["error"], str) and body["error"]


def test_bad_lifecycle_headers_are_400(client: FlaskClient) -> None:
    response = client.post(
        STT,
        headers={**AUTH, "X-Mock-Lifecycle": "[1]"},
        data={"providers": "amazon", "file": (io.BytesIO(WAV), "a.wav")},
        content_type="multipart/form-data",
    )
    assert list(field_errors(response)) == ["non_field_errors"]


@pytest.mark.parametrize(
    "settings", [Settings().replace(eden_final_status="spec", model_load="lazy")]
)
def test_the_spec_s_literal_final_status_words_on_request(
    client: FlaskClient, fake: FakeBuilders
) -> None:
    fake.fail["google"] = "nope"
    results = get(client, launch(client, providers="amazon,google")["public_id"])["results"]
    assert [r["final_status"] for r in results.values()] == ["sucess", "fail"]


def test_reading_options_as_list_with_original_and_without_base64(client: FlaskClient) -> None:
    public_id = launch(client, providers="amazon,google")["public_id"]
    body = get(
        client,
        public_id,
        response_as_dict="false",
        show_original_response="true",
        show_base_64="false",
    )
    assert [r["provider"] for r in body["results"]] == ["amazon", "google"]
    assert body["results"][0]["original_response"] == {"native": "amazon"}
    assert body["results"][0]["audio"] == ""
    assert get(client, public_id)["results"]["amazon"]["audio"] == "c291bmQ="
    bad = client.get(f"{STT}/{public_id}/", headers=AUTH, query_string={"show_base_64": "perhaps"})
    assert field_errors(bad) == {"show_base_64": ["Must be a valid boolean."]}


def test_a_launch_s_response_as_dict_does_not_shape_the_get(client: FlaskClient) -> None:
    """LangChain launches with ``response_as_dict: false`` and reads a dict (reference §3)."""
    public_id = launch(client, response_as_dict="false")["public_id"]
    assert list(get(client, public_id)["results"]) == ["amazon"]
    assert [r["provider"] for r in get(client, public_id, response_as_dict="false")["results"]] == [
        "amazon"
    ]


def test_launch_options_are_the_default_view(client: FlaskClient) -> None:
    public_id = launch(client, show_original_response="true", show_base_64="false")["public_id"]
    result = get(client, public_id)["results"]["amazon"]
    assert (result["original_response"], result["audio"]) == ({"native": "amazon"}, "")
    assert (
        "original_response"
        not in get(client, public_id, show_original_response="false")["results"]["amazon"]
    )


# --- list and delete ----------------------------------------------------------------------------


def test_the_list_shows_the_state_of_each_jobs_last_get(client: FlaskClient) -> None:
    first = launch(client, providers="amazon,google")["public_id"]
    second = launch(client)["public_id"]
    rows = client.get(STT, headers=AUTH).get_json()["jobs"]
    assert [(r["public_id"], r["state"], r["nb"], r["nb_ok"]) for r in rows] == [
        (second, "processing", 1, 0),
        (first, "processing", 2, 0),
    ]
    assert rows[0]["providers"] == "amazon" and rows[1]["providers"] == "amazon,google"
    assert rows[0]["created_at"] == "2027-01-15T08:00:00Z"
    get(client, first)
    rows = client.get(STT, headers=AUTH).get_json()["jobs"]
    assert [(r["state"], r["nb_ok"]) for r in rows] == [("processing", 0), ("finished", 2)]


@pytest.mark.parametrize(
    "settings", [Settings().replace(eden_list_state="live", model_load="lazy")]
)
def test_a_live_list_on_request(client: FlaskClient) -> None:
    launch(client)
    assert client.get(STT, headers=AUTH).get_json()["jobs"][0]["state"] == "finished"


def test_delete_all_removes_the_subfeatures_jobs_only(client: FlaskClient) -> None:
    stt = launch(client)["public_id"]
    tts = client.post(
        "/v2/audio/text_to_speech_async", headers=AUTH, json={"providers": "amazon", "text": "hi"}
    ).get_json()["public_id"]
    response = client.delete(STT, headers=AUTH)
    assert (response.status_code, response.data) == (204, b"")
    assert client.get(f"{STT}/{stt}/", headers=AUTH).status_code == 404
    assert client.get(f"/v2/audio/text_to_speech_async/{tts}/", headers=AUTH).status_code == 200


# --- webhooks -----------------------------------------------------------------------------------


def public_key(client: FlaskClient) -> str:
    key: str = client.get("/_mock/edenai/webhook-key").get_json()["public_key"]
    return key


def test_the_webhook_is_the_job_plus_users_parameters_signed_with_rsa(
    client: FlaskClient, app: Flask, webhook_client: RecordingClient
) -> None:
    public_id = launch(client, webhook_receiver=HOOK, users_webhook_parameters='{"order": 42}')[
        "public_id"
    ]
    settle(app)
    [sent] = webhook_client.calls
    assert sent["url"] == HOOK
    body = sent["body"]
    payload = json.loads(body)
    assert payload == {**get(client, public_id), "users_webhook_parameters": {"order": 42}}
    assert body == json.dumps(payload, indent=2).encode()  # what Eden hashes
    headers = sent["headers"]
    assert headers["x-edenai-hash-algorithm"] == "SHA256"
    assert verify(public_key(client), body, headers["x-edenai-signature"])
    tampered = body.replace(b'"order": 42', b'"order": 43')
    assert not verify(public_key(client), tampered, headers["x-edenai-signature"])


def test_send_webhook_data_false_leaves_the_results_out(
    client: FlaskClient, app: Flask, webhook_client: RecordingClient
) -> None:
    public_id = launch(client, webhook_receiver=HOOK, send_webhook_data="false")["public_id"]
    settle(app)
    payload = json.loads(webhook_client.calls[0]["body"])
    assert payload == {
        "public_id": public_id,
        "status": "finished",
        "error": None,
        "users_webhook_parameters": None,
    }
    # A job whose webhook went out is listed as refreshed, without a GET.
    assert client.get(STT, headers=AUTH).get_json()["jobs"][0]["state"] == "finished"


@pytest.mark.parametrize("webhook_client", [RecordingClient([500, 200])])
def test_a_failing_receiver_is_retried_and_logged(
    client: FlaskClient, app: Flask, webhook_client: RecordingClient, base_time: FakeTime
) -> None:
    launch(client, webhook_receiver=HOOK)
    settle(app)
    base_time.t += 5
    settle(app)
    assert len(webhook_client.calls) == 2
    deliveries = client.get("/_mock/webhooks").get_json()["deliveries"]
    assert [(d["event"], d["status"], d["attempt_count"]) for d in deliveries] == [
        ("edenai.job.finished", "delivered", 2)
    ]
    first, second = webhook_client.calls
    assert first["body"] == second["body"]
    assert verify(public_key(client), second["body"], second["headers"]["x-edenai-signature"])


def test_the_key_pair_survives_a_restart_on_sqlite(tmp_path: Path) -> None:
    settings = Settings().replace(store=f"sqlite:///{tmp_path / 'db.sqlite'}", model_load="lazy")
    keys = []
    for _ in range(2):
        app = create_app(settings)
        keys.append(public_key(app.test_client()))
        assert app.extensions["mockserver"].store.get_blob(KEY_BLOB) is not None
        app.extensions["mockserver"].close()
    assert keys[0] == keys[1]


def test_a_configured_key_signs_and_a_bad_one_fails_at_start_up(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "eden.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    app = create_app(Settings().replace(eden_signing_key=str(path), model_load="lazy"))
    pem = app.test_client().get("/_mock/edenai/webhook-key?format=pem").get_data(as_text=True)
    app.extensions["mockserver"].close()
    expected = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert pem == expected.decode()
    (tmp_path / "bad.pem").write_text("not a key")
    with pytest.raises(SettingsError, match="eden_signing_key"):
        Settings().replace(eden_signing_key=str(tmp_path / "bad.pem"))
    with pytest.raises(SettingsError, match="cannot read"):
        Settings().replace(eden_signing_key=str(tmp_path / "missing.pem"))


# --- batches ------------------------------------------------------------------------------------


BATCH = f"{STT}/batch"


def test_a_batch_launches_valid_requests_and_reports_the_rest(
    client: FlaskClient, app: Flask, webhook_client: RecordingClient
) -> None:
    requests = [
        {"providers": "amazon", "file_url": "https://example.com/happy.wav", "name": "happy"},
        {"providers": "amazon", "file_url": "https://example.com/sad.wav"},
        {"providers": "zzz", "file_url": "https://example.com/sad.wav", "name": "bad"},
    ]
    response = client.post(
        f"{BATCH}/nightly/",
        headers=AUTH,
        json={"requests": requests, "webhook_receiver": HOOK, "users_webhook_parameters": {"n": 1}},
    )
    launched = response.get_json()
    assert (
        launched["job_id"],
        launched["nb_launched"],
        launched["nb_failed"],
        launched["total"],
    ) == ("nightly", 2, 1, 3)
    [failed] = launched["failed_requests"]
    assert (failed["name"], failed["public_id"], failed["body"]) == ("bad", None, requests[2])
    assert list(failed["errors"]) == ["providers"]

    page = client.get(f"{BATCH}/nightly", headers=AUTH).get_json()
    assert (page["total"], page["current_page"], page["last_page"], page["status"]) == (
        3,
        1,
        1,
        "finished",
    )
    assert [(r["name"], r["status"]) for r in page["requests"]] == [
        ("happy", "succeeded"),
        ("1", "succeeded"),
        ("bad", "failed"),
    ]
    assert page["requests"][0]["response"]["results"]["amazon"]["text"].endswith("see you.")
    only = client.get(f"{BATCH}/nightly/", headers=AUTH, query_string={"status": "failed"})
    assert [r["name"] for r in only.get_json()["requests"]] == ["bad"]
    by_name = client.get(f"{BATCH}/nightly/", headers=AUTH, query_string={"name": "happy"})
    assert by_name.get_json()["total"] == 1

    settle(app)
    batch_hooks = [c for c in webhook_client.calls if b'"job_id": "nightly"' in c["body"]]
    assert len(batch_hooks) == 1
    payload = json.loads(batch_hooks[0]["body"])
    assert (payload["status"], payload["users_webhook_parameters"]) == ("finished", {"n": 1})
    assert verify(
        public_key(client), batch_hooks[0]["body"], batch_hooks[0]["headers"]["x-edenai-signature"]
    )

    assert client.delete(f"{BATCH}/nightly/", headers=AUTH).status_code == 204
    assert client.get(f"{BATCH}/nightly/", headers=AUTH).status_code == 404
    assert client.get(STT, headers=AUTH).get_json() == {"jobs": []}  # batch children unlisted


def test_batch_names_limits_and_features(client: FlaskClient) -> None:
    one = {"requests": [{"providers": "amazon", "file_url": "https://example.com/happy.wav"}]}
    assert client.post(f"{BATCH}/a/", headers=AUTH, json=one).status_code == 200
    assert field_errors(client.post(f"{BATCH}/a/", headers=AUTH, json=one)) == {
        "name": ["A batch job named 'a' already exists."]
    }
    assert list(field_errors(client.post(f"{BATCH}/b/", headers=AUTH, json={"requests": []}))) == [
        "requests"
    ]
    many = {"requests": one["requests"] * 501}
    assert field_errors(client.post(f"{BATCH}/c/", headers=AUTH, json=many)) == {
        "requests": ["Ensure this field has no more than 500 elements."]
    }
    assert sorted(BATCH_SUBFEATURES) == [
        "audio/speech_to_text_async",
        "ocr/ocr_tables_async",
        "video/text_detection_async",
    ]
    response = client.post("/v2/ocr/ocr_async/batch/a/", headers=AUTH, json=one)
    assert (response.status_code, response.get_json()) == (404, {"details": "Not Found"})
    bad_page = client.get(f"{BATCH}/a/", headers=AUTH, query_string={"page": "x"})
    assert field_errors(bad_page) == {"page": ["A valid integer is required."]}


def test_a_batch_pages_by_fifty(client: FlaskClient) -> None:
    request = {"providers": "amazon", "file_url": "https://example.com/happy.wav"}
    client.post(f"{BATCH}/big/", headers=AUTH, json={"requests": [request] * 51})
    second = client.get(f"{BATCH}/big/", headers=AUTH, query_string={"page": "2"}).get_json()
    assert (second["total"], second["last_page"], second["From"], second["to"]) == (51, 2, 51, 51)
    assert second["prev_page_url"].endswith("?page=1") and second["next_page_url"] is None


def test_number_fields_and_an_optional_starting_image(
    client: FlaskClient, fake: FakeBuilders
) -> None:
    qa = "/v2/video/question_answer_async"
    video = {"file_url": "https://example.com/video/two_faces.mp4"}
    errors = field_errors(
        client.post(
            qa,
            headers=AUTH,
            json={"providers": "google", "text": "Who?", "temperature": 2, **video},
        )
    )
    assert errors == {"temperature": ["Ensure this value is less than or equal to 1."]}
    errors = field_errors(
        client.post(
            qa,
            headers=AUTH,
            json={"providers": "google", "text": "Who?", "temperature": "hot", **video},
        )
    )
    assert errors == {"temperature": ["A valid number is required."]}
    ok = client.post(
        qa,
        headers=AUTH,
        json={"providers": "google", "text": "Who?", "temperature": "0.5", **video},
    )
    assert ok.status_code == 200

    generation = "/v2/video/generation_async"
    assert (
        client.post(
            generation, headers=AUTH, json={"providers": "openai", "text": "a red ball"}
        ).status_code
        == 200
    )
    image = client.post(
        generation,
        headers=AUTH,
        json={
            "providers": "openai",
            "text": "a red ball",
            "file_url": "https://example.com/face_smile.png",
        },
    )
    assert image.status_code == 200
    assert field_errors(
        client.post(generation, headers=AUTH, json={"providers": "openai", "text": "x", **video})
    ) == {
        "file_url": ["Unsupported file type 'video/mp4': video/generation_async takes image files."]
    }
    get(client, image.get_json()["public_id"], generation)
    assert fake.calls[-1][1].media_type == "image/png"


def test_the_journal_names_each_operation(client: FlaskClient) -> None:
    public_id = launch(client)["public_id"]
    get(client, public_id)
    client.get(STT, headers=AUTH)
    client.delete(STT, headers=AUTH)
    client.get(f"{BATCH}/none/", headers=AUTH)
    entries = client.get("/_mock/journal").get_json()["entries"]
    assert [(e["provider"], e["operation"], e["tenant"]) for e in reversed(entries)] == [
        ("edenai", "launch", KEY),
        ("edenai", "get", KEY),
        ("edenai", "list", KEY),
        ("edenai", "delete_all", KEY),
        ("edenai", "batch_get", KEY),
    ]


def test_a_full_reset_keeps_the_signing_key(client: FlaskClient, app: Flask) -> None:
    before = public_key(client)
    assert client.post("/_mock/reset").status_code == 200
    runtime = app.extensions["mockserver"]
    assert runtime.store.get_blob(KEY_BLOB) is not None
    assert public_key(client) == before


def test_settings_choose_a_providers_model_and_keep_its_key(
    client: FlaskClient, fake: FakeBuilders
) -> None:
    body = get(
        client,
        launch(client, providers="amazon,google", settings='{"google": "chirp"}')["public_id"],
    )
    assert list(body["results"]) == ["amazon", "google"]
    assert [(c.provider, c.model) for c, _ in fake.calls] == [("amazon", None), ("google", "chirp")]


def test_a_batch_request_name_must_be_a_string(client: FlaskClient) -> None:
    request = {"providers": "amazon", "file_url": "https://example.com/happy.wav", "name": ["x"]}
    assert field_errors(client.post(f"{BATCH}/n/", headers=AUTH, json={"requests": [request]})) == {
        "requests": ["Item 0: name: Not a valid string."]
    }
    hook = {"requests": [{**request, "name": "ok"}], "webhook_receiver": "nope"}
    assert field_errors(client.post(f"{BATCH}/n/", headers=AUTH, json=hook)) == {
        "webhook_receiver": ["Enter a valid URL."]
    }


def test_a_400_also_points_at_where_the_request_breaks_the_contract(client: FlaskClient) -> None:
    body = {"providers": "amazon", "speakers": "two", "file_url": "https://example.com/happy.wav"}
    response = client.post(STT, headers=AUTH, json=body)
    assert field_errors(response) == {"speakers": ["A valid integer is required."]}
    [violation] = response.get_json()["violations"]
    assert (violation["location"], violation["pointer"]) == ("body", "/speakers")
    [entry] = [e for e in client.get("/_mock/journal").get_json()["entries"] if e["status"] == 400]
    assert entry["violations"] == [violation]


def test_batch_page_links_are_valid_uris_for_any_batch_name(client: FlaskClient) -> None:
    request = {"providers": "amazon", "file_url": "https://example.com/happy.wav"}
    name = "caf%C3%A9%20x"  # "café x" on the wire
    client.post(f"{BATCH}/{name}/", headers=AUTH, json={"requests": [request] * 51})
    second = client.get(f"{BATCH}/{name}/", headers=AUTH, query_string={"page": "2"}).get_json()
    assert second["prev_page_url"].endswith(f"/batch/{name}?page=1")
    assert second["prev_page_url"].isascii()
