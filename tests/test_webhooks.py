"""The webhook outbox: retry schedule on virtual clocks, signatures, the allow-list, real HTTP."""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from mockserver.engine.clock import VirtualClock
from mockserver.engine.records import Delivery
from mockserver.engine.store import MemoryStore
from mockserver.engine.webhooks import (
    DEFAULT_ALLOW,
    DEFAULT_SECRET,
    MAIL_RECORDED,
    HostAllowList,
    HttpResponse,
    NoSigner,
    Outbox,
    RetryPolicy,
    StandardWebhooksSigner,
    UrllibClient,
    parse_retry_after,
    verify_standard_signature,
)
from tests.receiver import Receiver, Reply, closed_port

T0 = 1_700_000_000.0
OK = HttpResponse(200, {}, b"ok")


class _Fixed:
    def now(self) -> float:
        return T0


# --------------------------------------------------------------------------- test doubles


class FakeClient:
    """An HttpClient without sockets: replays a script (then ``default``) and records calls."""

    def __init__(
        self,
        script: list[HttpResponse | OSError] | None = None,
        default: HttpResponse | OSError = OK,
        delay: float = 0.0,
    ) -> None:
        self.script = list(script or [])
        self.default = default
        self.delay = delay
        self.calls: list[tuple[str, bytes, dict[str, str], float]] = []
        self._lock = threading.Lock()

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> HttpResponse:
        with self._lock:
            self.calls.append((url, body, dict(headers), timeout))
            item = self.script.pop(0) if self.script else self.default
        if self.delay:
            time.sleep(self.delay)
        if isinstance(item, OSError):
            raise item
        return item


@dataclass
class Rig:
    outbox: Outbox
    store: MemoryStore
    clock_for: Callable[[str], VirtualClock]

    def clock(self, tenant: str = "t1") -> VirtualClock:
        return self.clock_for(tenant)

    def send(self, url: str, tenant: str = "t1", **kwargs: Any) -> Delivery:
        delivery = self.outbox.make(
            tenant=tenant, job_id="job1", event="job.completed", url=url, **kwargs
        )
        self.outbox.enqueue(delivery)
        return delivery


def make_rig(
    client: Any,
    *,
    policy: RetryPolicy | None = None,
    allow: HostAllowList | None = None,
    store: MemoryStore | None = None,
) -> Rig:
    clocks: dict[str, VirtualClock] = {}
    counter = itertools.count(1)
    store = store if store is not None else MemoryStore()

    def clock_for(tenant: str) -> VirtualClock:
        return clocks.setdefault(tenant, VirtualClock(_Fixed(), frozen=True))

    outbox = Outbox(
        store,
        clock_for,
        client,
        signers={"standard": StandardWebhooksSigner(DEFAULT_SECRET)},
        allow=allow or HostAllowList(DEFAULT_ALLOW),
        policy=policy or RetryPolicy(base=1, factor=2),
        new_id=lambda tenant: f"wh_{tenant}_{next(counter)}",
    )
    return Rig(outbox, store, clock_for)


# --------------------------------------------------------------------------- end to end over HTTP


def test_retry_schedule_against_real_receiver(serve: Callable[..., Receiver]) -> None:
    receiver = serve(Reply(500, body=b"boom"), Reply(500), Reply(200, body=b"thanks"))
    rig = make_rig(UrllibClient())
    clock = rig.clock()
    sent = rig.send(receiver.url, payload={"id": "job1", "status": "COMPLETED", "note": "é"})

    assert rig.outbox.run_due() == 1
    first = rig.store.get_delivery(sent.id)
    assert first is not None and first.status == "pending"
    assert first.next_attempt_at == T0 + 1
    assert rig.outbox.next_due_in() == 1.0
    assert rig.outbox.run_due() == 0
    clock.advance(0.5)
    assert rig.outbox.due() == [] and rig.outbox.run_due() == 0
    clock.advance(0.5)
    assert rig.outbox.run_due() == 1
    assert rig.outbox.next_due_in() == 2.0
    clock.advance(1.999)
    assert rig.outbox.run_due() == 0
    clock.advance(0.001)
    assert rig.outbox.run_due() == 1

    done = rig.store.get_delivery(sent.id)
    assert done is not None and done.status == "delivered" and done.next_attempt_at is None
    assert [a.status_code for a in done.attempts] == [500, 500, 200]
    assert [a.at for a in done.attempts] == [T0, T0 + 1, T0 + 3]
    assert done.attempts[0].error == "HTTP 500" and done.attempts[0].response_excerpt == "boom"
    assert done.attempts[2].error is None and done.attempts[2].response_excerpt == "thanks"
    assert all(a.latency_ms > 0 for a in done.attempts)
    assert rig.outbox.next_due_in() is None

    bodies = {body for _, _, body in receiver.requests}
    assert bodies == {'{"id":"job1","status":"COMPLETED","note":"é"}'.encode()}
    stamps = []
    for path, headers, body in receiver.requests:
        assert path == "/hook"
        assert headers["content-type"] == "application/json"
        assert headers["webhook-id"] == sent.id
        assert verify_standard_signature(DEFAULT_SECRET, headers, body)
        stamps.append(int(headers["webhook-timestamp"]))
    assert stamps == [int(T0), int(T0) + 1, int(T0) + 3]
    assert done.attempts[1].headers["webhook-timestamp"] == str(int(T0) + 1)


def test_retry_after_seconds_is_honoured(serve: Callable[..., Receiver]) -> None:
    receiver = serve(Reply(429, headers={"Retry-After": "7"}))
    rig = make_rig(UrllibClient())
    sent = rig.send(receiver.url, payload={})
    assert rig.outbox.run_due() == 1
    after = rig.store.get_delivery(sent.id)
    assert after is not None and after.status == "pending"
    assert after.next_attempt_at == T0 + 7
    assert after.attempts[0].status_code == 429


def test_gone_stops_retrying(serve: Callable[..., Receiver]) -> None:
    receiver = serve(Reply(410))
    rig = make_rig(UrllibClient())
    sent = rig.send(receiver.url, payload={})
    rig.outbox.run_due()
    rig.clock().advance(1000)
    assert rig.outbox.run_due() == 0
    gone = rig.store.get_delivery(sent.id)
    assert gone is not None and gone.status == "gone" and gone.next_attempt_at is None
    assert len(receiver.requests) == 1


def test_connection_refused_is_recorded_and_retried() -> None:
    rig = make_rig(UrllibClient())
    sent = rig.send(f"http://127.0.0.1:{closed_port()}/hook", payload={})
    rig.outbox.run_due()
    after = rig.store.get_delivery(sent.id)
    assert after is not None and after.status == "pending" and after.next_attempt_at == T0 + 1
    attempt = after.attempts[0]
    assert attempt.status_code is None and attempt.error == "connection refused"
    assert attempt.headers["webhook-id"] == sent.id


def test_slow_receiver_times_out(serve: Callable[..., Receiver]) -> None:
    receiver = serve(Reply(200, delay=0.5))
    rig = make_rig(UrllibClient(), policy=RetryPolicy(timeout=0.2))
    sent = rig.send(receiver.url, payload={})
    rig.outbox.run_due()
    after = rig.store.get_delivery(sent.id)
    assert after is not None and after.status == "pending"
    assert after.attempts[0].error is not None and "timeout" in after.attempts[0].error
    assert 150 < after.attempts[0].latency_ms < 450


def test_redirect_is_not_followed(serve: Callable[..., Receiver]) -> None:
    elsewhere = serve()
    receiver = serve(Reply(302, headers={"Location": elsewhere.url}))
    rig = make_rig(UrllibClient())
    sent = rig.send(receiver.url, payload={})
    rig.outbox.run_due()
    after = rig.store.get_delivery(sent.id)
    assert after is not None and after.status == "pending"
    assert after.attempts[0].status_code == 302
    assert after.attempts[0].error == "HTTP 302 (redirects are not followed)"
    assert elsewhere.requests == []


def test_client_caps_body_and_lowercases_headers(serve: Callable[..., Receiver]) -> None:
    receiver = serve(Reply(200, headers={"X-Thing": "1"}, body=b"a" * 100_000))
    response = UrllibClient().post(receiver.url + "?q=1", b"{}", {"x-test": "yes"}, 2.0)
    assert response.status == 200 and len(response.body) == 64 * 1024
    assert response.headers["x-thing"] == "1"
    path, headers, body = receiver.requests[0]
    assert path == "/hook?q=1" and headers["x-test"] == "yes" and body == b"{}"

    rig = make_rig(UrllibClient())
    receiver2 = serve(Reply(500, body="ü".encode() * 1000))
    sent = rig.send(receiver2.url, payload={})
    rig.outbox.run_due()
    after = rig.store.get_delivery(sent.id)
    assert after is not None and after.attempts[0].response_excerpt == "ü" * 512


# --------------------------------------------------------------------------- schedule (no sockets)


def test_max_attempts_exhausted_fails() -> None:
    client = FakeClient(default=HttpResponse(503, {}, b"busy"))
    rig = make_rig(client, policy=RetryPolicy(max_attempts=3, base=1, factor=2))
    sent = rig.send("http://localhost/hook", payload={})
    for step in (0, 1, 2):
        rig.clock().advance(step)
        assert rig.outbox.run_due() == 1
    after = rig.store.get_delivery(sent.id)
    assert after is not None and after.status == "failed" and after.next_attempt_at is None
    assert len(after.attempts) == 3 and len(client.calls) == 3
    rig.clock().advance(10_000)
    assert rig.outbox.run_due() == 0 and rig.outbox.next_due_in() is None


def test_transport_errors_back_off_exponentially_with_cap() -> None:
    client = FakeClient(default=OSError("network is down"))
    rig = make_rig(client, policy=RetryPolicy(max_attempts=10, base=1, factor=2, cap=5))
    sent = rig.send("http://localhost/hook", payload={})
    waits = []
    for _ in range(6):
        assert rig.outbox.run_due() == 1
        wait = rig.outbox.next_due_in()
        assert wait is not None
        waits.append(wait)
        rig.clock().advance(wait)
    assert waits == [1, 2, 4, 5, 5, 5]
    after = rig.store.get_delivery(sent.id)
    assert after is not None and after.attempts[0].error == "OSError: network is down"
    assert client.calls[0][3] == 5.0  # the policy's timeout


def test_retry_after_http_date_and_cap() -> None:
    date = email.utils.formatdate(T0 + 30, usegmt=True)
    client = FakeClient(
        [
            HttpResponse(503, {"retry-after": date}, b""),
            HttpResponse(429, {"retry-after": "9999"}, b""),
        ]
    )
    rig = make_rig(client, policy=RetryPolicy(cap=60))
    sent = rig.send("http://localhost/hook", payload={})
    rig.outbox.run_due()
    after = rig.store.get_delivery(sent.id)
    assert after is not None and after.next_attempt_at == T0 + 30
    rig.clock().advance(30)
    rig.outbox.run_due()
    after = rig.store.get_delivery(sent.id)
    assert after is not None and after.next_attempt_at == T0 + 30 + 60


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("7", 7.0),
        (" 120 ", 120.0),
        ("1.5", 1.5),
        (email.utils.formatdate(T0 + 42, usegmt=True), 42.0),
        ("Tue, 14 Nov 2023 22:13:20 GMT", 0.0),  # T0 itself
        ("Sun, 06 Nov 1994 08:49:37 GMT", 0.0),  # in the past: now
        ("-5", None),
        ("soon", None),
        ("", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, T0) == expected


def test_retry_policy_delays() -> None:
    policy = RetryPolicy(base=1, factor=2, cap=300)
    assert [policy.delay(n, None) for n in range(1, 11)] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert policy.delay(5000, None) == 300
    assert policy.delay(1, 7) == 7 and policy.delay(1, 1e9) == 300 and policy.delay(3, 0) == 0
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(timeout=0)


def test_make_builds_without_storing() -> None:
    rig = make_rig(FakeClient())
    made = rig.outbox.make(
        tenant="t1",
        job_id=None,
        event="ping",
        url="http://localhost:9/x",
        payload={"a": [1, 2], "b": "ü"},
        headers={"X-Custom": "1", "Host": "evil.com", "Content-Length": "3"},
    )
    assert made.body == '{"a":[1,2],"b":"ü"}'
    assert dict(made.headers) == {"content-type": "application/json", "x-custom": "1"}
    assert made.status == "pending" and made.next_attempt_at == T0 and made.created_at == T0
    assert made.signer == "standard" and made.attempts == ()
    assert rig.store.get_delivery(made.id) is None
    raw = rig.outbox.make(tenant="t1", job_id=None, event="e", url="http://localhost/", body="x=1")
    assert raw.body == "x=1" and raw.id != made.id


def test_next_due_in_uses_each_tenant_clock() -> None:
    rig = make_rig(FakeClient(default=HttpResponse(500, {}, b"")))
    assert rig.outbox.next_due_in() is None
    rig.send("http://localhost/a", tenant="a")
    rig.send("http://localhost/b", tenant="b")
    assert rig.outbox.next_due_in() == 0.0
    assert rig.outbox.run_due() == 2  # both now wait 1 s
    rig.clock("a").advance(0.75)
    assert rig.outbox.next_due_in() == 0.25
    assert rig.outbox.run_due() == 0
    rig.clock("b").advance(1)
    assert [d.tenant for d in rig.outbox.due()] == ["b"]
    assert rig.outbox.next_due_in() == 0.0


def test_redeliver_keeps_history_and_makes_due_now() -> None:
    client = FakeClient()
    rig = make_rig(client)
    sent = rig.send("http://localhost/hook", payload={})
    rig.outbox.run_due()
    rig.clock().advance(60)
    again = rig.outbox.redeliver(sent.id)
    assert again is not None and again.status == "pending" and again.next_attempt_at == T0 + 60
    assert len(again.attempts) == 1
    assert rig.outbox.run_due() == 1
    final = rig.store.get_delivery(sent.id)
    assert final is not None and final.status == "delivered" and len(final.attempts) == 2
    assert rig.outbox.redeliver("nope") is None


def test_unknown_signer_is_a_delivery_error_not_a_crash() -> None:
    client = FakeClient()
    rig = make_rig(client)
    sent = rig.send("http://localhost/hook", payload={}, signer="rsa")
    assert rig.outbox.run_due() == 1
    after = rig.store.get_delivery(sent.id)
    assert after is not None and after.status == "pending"
    assert after.attempts[0].error == "signing failed: unknown signer 'rsa'"
    assert client.calls == []

    def rsa(delivery: Delivery, body: bytes, now: float) -> dict[str, str]:
        return {"X-Signature": f"rsa:{delivery.id}:{int(now)}"}

    rig.outbox.register_signer("rsa", rsa)
    rig.clock().advance(1)
    rig.outbox.run_due()
    assert client.calls[0][2]["x-signature"] == f"rsa:{sent.id}:{int(T0) + 1}"


def test_failing_signer_and_unsigned_deliveries() -> None:
    def broken(delivery: Delivery, body: bytes, now: float) -> dict[str, str]:
        raise RuntimeError("key missing")

    client = FakeClient()
    rig = make_rig(client)
    rig.outbox.register_signer("broken", broken)
    bad = rig.send("http://localhost/1", payload={}, signer="broken")
    plain = rig.send("http://localhost/2", payload={}, signer="none")
    assert rig.outbox.run_due() == 2
    failed = rig.store.get_delivery(bad.id)
    assert failed is not None and failed.attempts[0].error == "signing failed: key missing"
    ((url, _, headers, _),) = client.calls
    assert url == "http://localhost/2" and not any(h.startswith("webhook-") for h in headers)
    assert NoSigner()(plain, b"", T0) == {}


def test_concurrent_run_due_attempts_each_delivery_once() -> None:
    client = FakeClient(delay=0.002)
    rig = make_rig(client)
    sent = [rig.send(f"http://localhost/{i}", payload={"i": i}) for i in range(50)]
    barrier = threading.Barrier(8)
    counts: list[int] = []

    def work() -> None:
        barrier.wait()
        counts.append(rig.outbox.run_due())

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == 50
    assert sorted(url for url, *_ in client.calls) == sorted(d.url for d in sent)
    assert all(d.status == "delivered" for d in rig.store.list_deliveries())


# --------------------------------------------------------------------------- allow-list


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "https://127.0.0.1:8443/hook?x=1",
        "http://127.200.3.4:9/",
        "HTTP://LOCALHOST:8080/a",
        "http://localhost/",
        "http://[::1]:9000/",
        "http://[::ffff:127.0.0.1]/",
    ],
)
def test_default_allow_list_accepts_loopback(url: str) -> None:
    assert HostAllowList(DEFAULT_ALLOW).check(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://8.8.8.8/",
        "http://0.0.0.0:80/",
        "http://[::]/",
        "http://example.com/",
        "http://127.0.0.1.evil.com/",
        "http://localhost.evil.com/",
        "http://evillocalhost/",
        "http://user@evil.com/",
        "http://user@localhost/",
        "http://127.0.0.1@evil.com/",
        "http://127.0.0.1:80@evil.com/",
        "http://evil.com#@127.0.0.1/",
        "http://evil.com\\@127.0.0.1/",
        "http://[::ffff:10.0.0.1]/",
        "http://[::1]x/",
        "http://[::1]@evil.com/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://[::127.0.0.1]/",
        "http://[fe80::1%25lo]/",
        "http://0x7f000001/",
        "http://0x7f.0.0.1/",
        "http://2130706433/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://localhost./",
        "http://loca%6chost/",
        "http://lоcalhost/",  # Cyrillic o
        "http://local host/",
        "http://localhost:99999/",
        "http://[::1/",
        "http:///hook",
        "http://:80/",
        "ftp://127.0.0.1/",
        "file:///etc/passwd",
        "gopher://localhost/",
        "javascript:alert(1)",
        "//127.0.0.1/",
        "127.0.0.1",
        "",
    ],
)
def test_default_allow_list_rejects(url: str) -> None:
    reason = HostAllowList(DEFAULT_ALLOW).check(url)
    assert isinstance(reason, str) and reason


def test_custom_allow_list_entries() -> None:
    allow = HostAllowList(["10.1.2.3", "192.168.0.0/16", "receiver.test", "*.hooks.test"])
    assert allow.check("http://10.1.2.3/") is None
    assert allow.check("http://[::ffff:10.1.2.3]/") is None
    assert allow.check("http://192.168.44.1:81/") is None
    assert allow.check("https://receiver.test/x") is None
    assert allow.check("https://RECEIVER.test/x") is None
    assert allow.check("http://a.hooks.test/") is None
    assert allow.check("http://a.b.hooks.test/") is None
    for url in (
        "http://10.1.2.4/",
        "http://127.0.0.1/",
        "http://localhost/",
        "http://x.receiver.test/",
        "http://hooks.test/",
        "http://evilhooks.test/",
        "http://a.hooks.test.evil.com/",
    ):
        assert allow.check(url) is not None, url
    assert HostAllowList(["[::1]"]).check("http://[::1]/") is None
    assert HostAllowList([]).check("http://127.0.0.1/") is not None


@pytest.mark.parametrize("pattern", ["*", "*.", "evil.com/path", "host:80", "0x7f000001", "a b"])
def test_allow_list_rejects_bad_patterns(pattern: str) -> None:
    with pytest.raises(ValueError):
        HostAllowList([pattern])


def test_blocked_delivery_is_never_sent() -> None:
    client = FakeClient()
    rig = make_rig(client)
    blocked = rig.send("http://169.254.169.254/latest/meta-data/", payload={})
    assert blocked.status == "blocked" and blocked.next_attempt_at is None
    (record,) = blocked.attempts
    assert record.status_code is None and record.error is not None
    assert record.error.startswith("blocked: ") and "169.254.169.254" in record.error
    assert rig.outbox.due() == [] and rig.outbox.next_due_in() is None
    assert rig.outbox.run_due() == 0
    assert rig.outbox.redeliver(blocked.id) == blocked
    assert rig.outbox.run_due() == 0
    assert client.calls == []


def test_mailto_is_recorded_as_delivered_and_never_sent() -> None:
    client = FakeClient()
    rig = make_rig(client)
    mail = rig.send("mailto:owner-of-key", payload={"job_id": "job1"}, signer="none")
    assert mail.status == "pending"  # not blocked by the allow list: it never leaves
    assert rig.outbox.run_due() == 1
    stored = rig.store.get_delivery(mail.id)
    assert stored is not None and stored.status == "delivered"
    (record,) = stored.attempts
    assert record.error is None and record.response_excerpt == MAIL_RECORDED
    assert client.calls == []


def test_allow_list_is_rechecked_at_send_time() -> None:
    client = FakeClient()
    store = MemoryStore()
    maker = make_rig(client, store=store)
    sent = maker.send("http://localhost/hook", payload={})
    strict = make_rig(client, store=store, allow=HostAllowList(["10.0.0.0/8"]))
    assert strict.outbox.run_due() == 1
    after = store.get_delivery(sent.id)
    assert after is not None and after.status == "blocked" and client.calls == []


# --------------------------------------------------------------------------- signatures


def _by_hand(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def test_standard_webhooks_published_vector() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    body = b'{"test": 2432232314}'
    assert verify_standard_signature(secret, headers, body)
    assert not verify_standard_signature(secret, headers, b'{"test": 2432232315}')


def test_signer_matches_independent_computation() -> None:
    by_hand_secret = "whsec_" + base64.b64encode(b"mockserver-webhook-secret").decode()
    assert by_hand_secret == DEFAULT_SECRET
    delivery = Delivery(
        id="wh_1",
        tenant="t",
        job_id=None,
        event="e",
        url="http://localhost/",
        body="",
        created_at=0,
    )
    body = json.dumps({"ok": True}).encode()
    headers = StandardWebhooksSigner(DEFAULT_SECRET)(delivery, body, T0 + 0.9)
    expected = _by_hand(b"mockserver-webhook-secret", "wh_1", int(T0), body)
    assert headers == {
        "webhook-id": "wh_1",
        "webhook-timestamp": str(int(T0)),
        "webhook-signature": expected,
    }
    upper = {k.upper(): v for k, v in headers.items()}
    assert verify_standard_signature(DEFAULT_SECRET, upper, body.decode())
    assert verify_standard_signature(DEFAULT_SECRET, headers, body, now=T0 + 200)
    assert not verify_standard_signature(DEFAULT_SECRET, headers, body, now=T0 + 1000)
    assert not verify_standard_signature(DEFAULT_SECRET, headers, body + b" ")
    other_secret = "whsec_" + base64.b64encode(b"other").decode()
    assert not verify_standard_signature(other_secret, headers, body)
    rotated = {**headers, "webhook-signature": f"v1,bm9wZQ== v2,xyz {expected}"}
    assert verify_standard_signature(DEFAULT_SECRET, rotated, body)
    assert not verify_standard_signature(DEFAULT_SECRET, {**headers, "webhook-id": "wh_2"}, body)
    assert not verify_standard_signature(DEFAULT_SECRET, {"webhook-id": "wh_1"}, body)


def test_unprefixed_secret_is_raw_utf8_and_bad_base64_is_refused() -> None:
    delivery = Delivery(
        id="m", tenant="t", job_id=None, event="e", url="http://localhost/", body="", created_at=0
    )
    headers = StandardWebhooksSigner("plain-secret")(delivery, b"hi", 5.0)
    assert headers["webhook-signature"] == _by_hand(b"plain-secret", "m", 5, b"hi")
    assert verify_standard_signature("plain-secret", headers, b"hi")
    with pytest.raises(ValueError):
        StandardWebhooksSigner("whsec_not*base64")
