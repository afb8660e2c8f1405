"""Eden AI v2 async throughput in process (Flask test client, no sockets): what one call costs.

Prints launch requests per second (multipart upload of a 6 s WAV, one provider), the first GET
of each job (which builds the speech-to-text result: decode, segment, align, diarize) and later
GETs (stored), the list with all those jobs, the webhook signature (RSA-2048 sign and verify)
and key generation, and for one sample per subfeature family the wall time from launch to a
finished GET with every provider of the subfeature (one analysis of the file, shared by the
providers; the cache of analyses is emptied before each measured build).

    python benchmarks/bench_eden.py            # 200 jobs
    python benchmarks/bench_eden.py --quick    # 8 jobs (the test suite's smoke run)
"""

from __future__ import annotations

import argparse
import io
import time
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from mockserver.app import create_app
from mockserver.providers.edenai.catalog import SUBFEATURES
from mockserver.providers.edenai.features.base import forget_analyses
from mockserver.providers.edenai.signing import verify
from mockserver.runtime import SAMPLES_DIR
from mockserver.settings import Settings

AUTH = {"Authorization": "Bearer bench"}
STT = "/v2/audio/speech_to_text_async"
WAV = (SAMPLES_DIR / "audio" / "two_voices.wav").read_bytes()

#: One launch per family: (subfeature, JSON body without providers).
SAMPLES: list[tuple[str, dict[str, Any]]] = [
    ("audio/speech_to_text_async", {"file_url": "https://example.com/two_voices.wav"}),
    ("audio/text_to_speech_async", {"text": "The train leaves at nine.", "language": "en"}),
    ("ocr/ocr_async", {"file_url": "https://example.com/documents/invoice.pdf"}),
    ("video/face_detection_async", {"file_url": "https://example.com/video/two_faces.mp4"}),
    ("video/text_detection_async", {"file_url": "https://example.com/video/text_caption.mp4"}),
]


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:.0f} req/s" if seconds > 0 else "inf"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 jobs instead of 200")
    args = parser.parse_args()
    n = 8 if args.quick else 200
    app = create_app(Settings().replace(log_level="warning"))
    runtime = app.extensions["mockserver"]
    try:
        runtime.inference.wait_ready(120)
        client = app.test_client()

        def launch() -> str:
            data = {"providers": "amazon", "file": (io.BytesIO(WAV), "a.wav")}
            response = client.post(STT, headers=AUTH, data=data, content_type="multipart/form-data")
            assert response.status_code == 200, response.get_data(as_text=True)
            public_id: str = response.get_json()["public_id"]
            return public_id

        client.get(f"{STT}/{launch()}/", headers=AUTH)  # warm the decoders
        t0 = time.perf_counter()
        ids = [launch() for _ in range(n)]
        t1 = time.perf_counter()
        for public_id in ids:
            forget_analyses()  # every job uploads the same clip: measure a cold build
            assert client.get(f"{STT}/{public_id}/", headers=AUTH).status_code == 200
        t2 = time.perf_counter()
        for public_id in ids:
            client.get(f"{STT}/{public_id}/", headers=AUTH)
        t3 = time.perf_counter()
        rows = client.get(STT, headers=AUTH).get_json()["jobs"]
        t4 = time.perf_counter()
        print(f"launch (multipart, 200 KB WAV): {rate(n, t1 - t0)}")
        print(f"get job, first read (builds speech-to-text): {rate(n, t2 - t1)}")
        print(f"get job, stored: {rate(n, t3 - t2)}")
        print(f"list {len(rows)} jobs: {(t4 - t3) * 1000:.1f} ms")

        keys = app.extensions["mockserver.edenai"].keys
        body = b"{}" * 2000
        pem = keys.public_pem()
        t0 = time.perf_counter()
        signatures = [keys.sign(body) for _ in range(50)]
        t1 = time.perf_counter()
        assert all(verify(pem, body, s) for s in signatures[:5])
        t2 = time.perf_counter()
        for _ in range(3):
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
        t3 = time.perf_counter()
        print(f"webhook signature (RSA-2048, 4 KB body): {(t1 - t0) / 50 * 1e6:.0f} us")
        print(f"webhook verification: {(t2 - t1) / 5 * 1e6:.0f} us")
        print(f"signing key generation: {(t3 - t2) / 3 * 1000:.0f} ms")

        for path, body_fields in SAMPLES:
            sub = SUBFEATURES[path]
            providers = ",".join(sub.providers)
            forget_analyses()
            t0 = time.perf_counter()
            response = client.post(
                f"/v2/{path}/", headers=AUTH, json={"providers": providers, **body_fields}
            )
            if response.status_code != 200:
                print(f"{path}: launch refused: {response.get_json()}")
                continue
            public_id = response.get_json()["public_id"]
            job = client.get(f"/v2/{path}/{public_id}/", headers=AUTH).get_json()
            elapsed = time.perf_counter() - t0
            ok = sum(r["final_status"] == "succeeded" for r in job["results"].values())
            print(
                f"{path}, {len(sub.providers)} providers, launch to finished:"
                f" {elapsed:.2f} s ({ok} succeeded)"
            )
    finally:
        runtime.close()


if __name__ == "__main__":
    main()
