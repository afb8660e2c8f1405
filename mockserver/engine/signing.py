"""Webhook signers: the headers that let a receiver prove a delivery came from us.

The outbox signs at send time, so the signature timestamp is the tenant's clock at that attempt
(a retry carries a fresh one, as real senders do). Signers are looked up by name from a registry
the outbox owns; providers add their own (an RSA scheme, say) without the outbox knowing them.
The default scheme is Standard Webhooks (https://www.standardwebhooks.com/), which Svix and many
vendors use, so receivers can check our deliveries with off-the-shelf libraries.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from typing import Protocol

from .records import Delivery

__all__ = [
    "DEFAULT_SECRET",
    "NoSigner",
    "Signer",
    "StandardWebhooksSigner",
    "standard_signature",
    "verify_standard_signature",
]

#: The fixed secret tests and local receivers use unless settings configure another one.
#: It is public on purpose: the mock server authenticates nothing real, and a known secret lets
#: any test verify signatures without plumbing. The key bytes are ``b"mockserver-webhook-secret"``.
DEFAULT_SECRET = "whsec_" + base64.b64encode(b"mockserver-webhook-secret").decode("ascii")

_PREFIX = "whsec_"


class Signer(Protocol):
    """Anything that turns a delivery about to be sent into extra request headers."""

    def __call__(self, delivery: Delivery, body: bytes, now: float) -> dict[str, str]: ...


class NoSigner:
    """Send deliveries unsigned, for vendors whose webhooks carry no signature."""

    def __call__(self, delivery: Delivery, body: bytes, now: float) -> dict[str, str]:
        return {}


def _secret_key(secret: str) -> bytes:
    """Decode a ``whsec_``-prefixed base64 secret, or take an unprefixed one as raw UTF-8.

    Standard Webhooks secrets are base64 after the prefix; accepting a bare string as well keeps
    hand-written settings working. A malformed prefixed secret is a configuration error, so it
    raises rather than silently signing with the wrong key.
    """
    if not secret.startswith(_PREFIX):
        return secret.encode("utf-8")
    try:
        return base64.b64decode(secret[len(_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("webhook secret after 'whsec_' is not valid base64") from exc


def standard_signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """Return the base64 HMAC-SHA256 over ``{id}.{timestamp}.{body}``, as the spec defines."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")


class StandardWebhooksSigner:
    """Sign with the Standard Webhooks scheme (``webhook-id/-timestamp/-signature`` headers)."""

    def __init__(self, secret: str = DEFAULT_SECRET) -> None:
        self._key = _secret_key(secret)

    def __call__(self, delivery: Delivery, body: bytes, now: float) -> dict[str, str]:
        timestamp = int(now)
        signature = standard_signature(self._key, delivery.id, timestamp, body)
        return {
            "webhook-id": delivery.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": f"v1,{signature}",
        }


def verify_standard_signature(
    secret: str,
    headers: Mapping[str, str],
    body: bytes | str,
    *,
    now: float | None = None,
    tolerance: float = 300.0,
) -> bool:
    """Check a Standard Webhooks signature the way a receiver would; True if any ``v1`` matches.

    Header names are matched case-insensitively and the signature header may list several
    space-separated signatures (key rotation). Comparison is constant-time. The timestamp is
    checked against ``now`` only when given: the mock's tenant clocks are virtual, so wall-clock
    tolerance would reject perfectly good deliveries from a clock moved into the future.
    """
    key = _secret_key(secret)
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get("webhook-id")
    raw_ts = lowered.get("webhook-timestamp", "")
    sig_header = lowered.get("webhook-signature")
    if not msg_id or not sig_header or not raw_ts.isascii() or not raw_ts.isdigit():
        return False
    timestamp = int(raw_ts)
    if now is not None and abs(now - timestamp) > tolerance:
        return False
    payload = body.encode("utf-8") if isinstance(body, str) else body
    expected = standard_signature(key, msg_id, timestamp, payload).encode("ascii")
    matched = False
    for candidate in sig_header.split():
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(expected, signature.encode("utf-8")):
            matched = True
    return matched
