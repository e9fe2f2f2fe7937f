"""How a webhook request proves it came from us, and how a receiver checks it.

Every request carries

    TimeNest-Timestamp: 1767225600            (Unix seconds when it was sent)
    TimeNest-Signature: v1=5257a869e7...      (hex HMAC-SHA256)

where the signature is HMAC-SHA256 with the endpoint's secret (the whole `whsec_...`
string, UTF-8) as key over `"{timestamp}.{body}"`, body being the raw request bytes. For
a day after the secret is rotated the header carries one `v1=` signature per valid secret,
separated by spaces; a receiver accepts the request if any of them matches its own.
A receiver should also refuse timestamps more than a few minutes away from its clock, so
a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

TIMESTAMP_HEADER = "TimeNest-Timestamp"
SIGNATURE_HEADER = "TimeNest-Signature"
EVENT_ID_HEADER = "TimeNest-Event-Id"
EVENT_TYPE_HEADER = "TimeNest-Event-Type"
DELIVERY_ID_HEADER = "TimeNest-Delivery-Id"
SIGNATURE_SCHEME = "v1"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a marker, not a secret
# What receivers should allow between our clock and theirs, in seconds.
DEFAULT_TOLERANCE_SECONDS = 300

VERIFICATION_GUIDE = f"""\
**Verifying a webhook.** Each request is a `POST` with a JSON body and the headers
`{TIMESTAMP_HEADER}` (Unix seconds when it was sent), `{SIGNATURE_HEADER}`
(`{SIGNATURE_SCHEME}=<hex>`; during the 24 h after a secret rotation one `{SIGNATURE_SCHEME}=`
per valid secret, space-separated), `{EVENT_ID_HEADER}`, `{EVENT_TYPE_HEADER}` and
`{DELIVERY_ID_HEADER}`. Compute `HMAC-SHA256(key=secret, message="{{timestamp}}.{{raw body}}")`
in hex, with the endpoint's whole secret (`{SECRET_PREFIX}...`) as UTF-8 key, and compare it
in constant time with each `{SIGNATURE_SCHEME}=` value; refuse the request when none matches
or the timestamp is more than 5 minutes from your clock. Answer any 2xx within 10 seconds
to acknowledge; anything else (or no answer) is retried with exponential backoff (1 min,
2, 4, 8 ... at most 4 h apart) for about 24 hours. Deliveries are at least once: use the
body's `id` (stable across retries and replays) to ignore duplicates. Python:
`hmac.compare_digest(hmac.new(secret.encode(), f"{{ts}}.".encode() + body,
hashlib.sha256).hexdigest(), received)`."""


def webhook_secret_generate() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def webhook_signature_header(*, secrets: Iterable[str], timestamp: int, body: bytes) -> str:
    return " ".join(
        f"{SIGNATURE_SCHEME}={webhook_signature(secret=secret, timestamp=timestamp, body=body)}"
        for secret in secrets
    )


def webhook_signature_verify(
    *,
    secret: str,
    timestamp: str,
    signature_header: str,
    body: bytes,
    now: float,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does (here for tests and as a reference for integrators)."""
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance_seconds:
        return False
    expected = webhook_signature(secret=secret, timestamp=int(timestamp), body=body)
    candidates = [
        part.split("=", 1)[1]
        for part in signature_header.split()
        if part.startswith(f"{SIGNATURE_SCHEME}=")
    ]
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
