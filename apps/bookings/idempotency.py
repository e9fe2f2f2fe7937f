"""Idempotent requests: the same key from the same actor with the same payload gets the
first response back, byte for byte, for 24 hours (PRODUCT.md §4.3).

    response = idempotent_call(
        key=request.headers["Idempotency-Key"],
        actor=actor,
        payload=request.data,
        perform=lambda: IdempotentResponse(201, json.dumps(hold_and_serialize())),
    )

How it holds under concurrency: the key row is inserted *first*, in the transaction that
performs the request (`INSERT … ON CONFLICT DO NOTHING`). A duplicate arriving meanwhile
blocks on the unique index until that transaction ends; if it committed, the duplicate
reads the stored status and body; if it rolled back, the duplicate performs the request
itself. `perform` runs inside that transaction, so its writes and the stored response
commit together.

When `perform` raises, nothing is stored and the key stays free for a retry (for example
after SLOT_FULL). An adapter that wants an error answer replayed too returns it from
`perform` instead of raising.

Stored answers are encrypted, not left out: they hold what must not sit in the database
in clear for 24 hours (a new API key, a webhook endpoint's signing secret, a customer's
booking token, a customer's decrypted email and phone), yet a client whose answer was
lost must still get its key or secret on a retry, rather than revoke it and make
another. The body is kept as a token of the customer-data encryption (`pii.pii_encrypt`:
its key and its functions, so whatever changes there, key rotation included, applies
here) and decrypted for a replay, which so answers the same bytes. A stored answer that
cannot be decrypted (written before answers were encrypted, or with a key that is gone)
is IdempotencyRecordUnreadable (409), never a second performance.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.bookings import pii
from apps.bookings.actors import ActorRef
from apps.bookings.errors import IdempotencyKeyReused, IdempotencyRecordUnreadable
from apps.bookings.models import IdempotencyRecord
from apps.core.errors import FieldError, ValidationFailed

RETENTION = timedelta(hours=24)
KEY_MAX_LENGTH = 255


@dataclass(frozen=True)
class IdempotentResponse:
    status_code: int
    body: str
    # True when this is the stored answer to an earlier request with the same key.
    replayed: bool = False


def payload_hash(payload: Any) -> str:
    """SHA-256 of the canonical JSON of the payload (key order does not matter)."""
    canonical = json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_key_clean(key: str | None, *, field: str = "Idempotency-Key") -> str:
    value = (key or "").strip()
    if not value:
        raise ValidationFailed(
            _("An Idempotency-Key is required."), [FieldError(field, _("Send an Idempotency-Key."))]
        )
    if len(value) > KEY_MAX_LENGTH or not value.isprintable():
        raise ValidationFailed(
            _("The Idempotency-Key is not valid."),
            [
                FieldError(
                    field,
                    _("Use at most %(count)s printable characters.") % {"count": KEY_MAX_LENGTH},
                )
            ],
        )
    return value


def idempotent_call(
    *,
    key: str,
    actor: ActorRef,
    payload: Any,
    perform: Callable[[], IdempotentResponse],
) -> IdempotentResponse:
    """Performs the request once per (actor, key); see the module docstring.
    Raises ValidationFailed for a malformed key and IdempotencyKeyReused when the key
    was used with another payload."""
    key = idempotency_key_clean(key)
    request_hash = payload_hash(payload)
    now = timezone.now()
    with transaction.atomic():
        for _attempt in range(5):
            if _claim(key=key, actor_key=actor.key, request_hash=request_hash, now=now):
                break
            stored = IdempotencyRecord.objects.filter(actor_key=actor.key, key=key).first()
            if stored is None:  # purged between our insert attempt and this read
                continue
            if stored.created_at <= now - RETENTION:
                # Past retention and not purged yet: the key is free again.
                stored.delete()
                continue
            if stored.request_hash != request_hash:
                raise IdempotencyKeyReused()
            return IdempotentResponse(
                status_code=stored.status_code or 0,
                body=_body_read(stored.response_body),
                replayed=True,
            )
        else:
            raise RuntimeError("Idempotency key could be neither claimed nor read.")
        response = perform()
        IdempotencyRecord.objects.filter(actor_key=actor.key, key=key).update(
            status_code=response.status_code, response_body=pii.pii_encrypt(response.body)
        )
        return response


def _body_read(stored: str) -> str:
    if _written_in_clear(stored):
        return stored  # stored before answers were encrypted (gone within RETENTION)
    try:
        return pii.pii_decrypt(stored)
    except pii.InvalidToken as exc:
        raise IdempotencyRecordUnreadable(
            _(
                "The answer to this Idempotency-Key can no longer be shown. Check whether "
                "the change was made before you send it again with a new key."
            )
        ) from exc


def _written_in_clear(stored: str) -> bool:
    """A Fernet token starts "gAAAAA" (alone before key ids, after "<key id>:" since);
    an answer stored before encryption is the JSON or page it was."""
    head = stored[:24]
    return not (head.startswith("gAAAAA") or ":gAAAAA" in head)


def idempotency_records_purge(*, now: datetime | None = None) -> int:
    """Deletes records past the retention; returns how many."""
    cutoff = (now or timezone.now()) - RETENTION
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lte=cutoff).delete()
    return deleted


def idempotency_next_purge() -> datetime | None:
    """When the oldest record passes the retention (None: there is none)."""
    oldest = (
        IdempotencyRecord.objects.order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return None if oldest is None else oldest + RETENTION


def _claim(*, key: str, actor_key: str, request_hash: str, now: datetime) -> bool:
    """Inserts the key row; False when the (actor, key) row exists (after waiting for
    the transaction that inserted it, if it is still running)."""
    table = connection.ops.quote_name(IdempotencyRecord._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, actor_key, request_hash, response_body, created_at) "  # noqa: S608
            "VALUES (%s, %s, %s, '', %s) "
            "ON CONFLICT (actor_key, key) DO NOTHING RETURNING id",
            [key, actor_key, request_hash, now],
        )
        return cursor.fetchone() is not None
