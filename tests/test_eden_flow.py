"""Eden AI end to end: the seed document's ``requests`` example against a real server, with the
real builders, a real webhook receiver, and the signature checked with ``cryptography``.

Done when (issue 7): that document's example, with the URL changed to the local server,
launches, polls to ``finished``, and its webhook arrives with a signature that verifies
against the served public key. The example is kept as the document prints it (its two syntax
slips, a missing comma and an unclosed string, fixed: Python would not run it otherwise).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from mockserver.runtime import SAMPLES_DIR
from tests.receiver import Receiver
from tests.serverproc import ServerProcess

KEY = "eden-flow-key"


def verify_like_a_receiver(public_pem: str, body: bytes, signature_hex: str) -> None:
    """What Eden's docs tell receivers to do: load the published key, check SHA-256/RSA."""
    key = serialization.load_pem_public_key(public_pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    canonical = json.dumps(json.loads(body), indent=2).encode()
    assert canonical == body  # the body is the indent-2 serialisation Eden hashes
    key.verify(bytes.fromhex(signature_hex), canonical, padding.PKCS1v15(), hashes.SHA256())


def wait_for(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.mark.slow
def test_the_documents_example_launches_polls_and_gets_a_verified_webhook(
    serve: Callable[..., Receiver], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = serve()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "audio.wav").write_bytes((SAMPLES_DIR / "audio" / "two_voices.wav").read_bytes())
    with ServerProcess("--profile", "fast") as server:
        base = f"http://127.0.0.1:{server.port}"
        # --- the document's launch, URL and key changed ---
        url = f"{base}/v2/audio/speech_to_text_async"
        files = {"file": ("audio.wav", open("audio.wav", "rb"), "audio/x-wav")}  # noqa: SIM115
        payload = {
            "providers": "amazon",
            "language": "en",
            "speakers": "2",
            "profanity_filter": "false",
            "webhook_receiver": receiver.url,
        }
        headers = {"accept": "application/json", "authorization": f"Bearer {KEY}"}
        response = requests.post(url, data=payload, files=files, headers=headers, timeout=30)
        files["file"][1].close()
        data = response.json()
        assert response.status_code == 200 and list(data) == ["public_id"]

        # --- the document's poll ---
        url = f"{base}/v2/audio/speech_to_text_async/{data['public_id']}"
        seen = []

        def finished() -> bool:
            body = requests.get(url, headers=headers, timeout=30).json()
            seen.append(body["status"])
            return body["status"] in ("finished", "failed")

        wait_for(finished)
        assert seen[-1] == "finished"
        body = requests.get(url, headers=headers, timeout=30).json()
        amazon = body["results"]["amazon"]
        assert amazon["error"] is None and amazon["final_status"] == "succeeded"
        assert amazon["text"] == "Hello, how are you today? I am fine, thank you. Good to hear."
        diarization = amazon["diarization"]
        assert diarization["total_speakers"] == 2
        speakers = [e["speaker"] for e in diarization["entries"]]
        assert speakers[0] == 1 and 2 in speakers  # the second voice answers

        # --- the webhook, verified against the served key ---
        wait_for(lambda: len(receiver.requests) >= 1)
        path, hook_headers, hook_body = receiver.requests[0]
        assert hook_headers["x-edenai-hash-algorithm"] == "SHA256"
        key = requests.get(f"{base}/_mock/edenai/webhook-key", timeout=30).json()["public_key"]
        verify_like_a_receiver(key, hook_body, hook_headers["x-edenai-signature"])
        delivered = json.loads(hook_body)
        assert delivered["public_id"] == data["public_id"]
        assert delivered["results"]["amazon"]["text"] == amazon["text"]
        assert delivered["users_webhook_parameters"] is None
        code, log = server.request("GET", "/_mock/webhooks")
        assert code == 200
        assert [(d["event"], d["status"]) for d in log["deliveries"]] == [
            ("edenai.job.finished", "delivered")
        ]
