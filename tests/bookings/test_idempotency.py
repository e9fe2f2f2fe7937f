"""Idempotent requests, one at a time (the concurrent case is in test_concurrency)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.bookings.actors import ActorRef
from apps.bookings.errors import IdempotencyKeyReused, IdempotencyRecordUnreadable, SlotFull
from apps.bookings.idempotency import (
    IdempotentResponse,
    idempotency_records_purge,
    idempotent_call,
    payload_hash,
)
from apps.bookings.models import IdempotencyRecord
from apps.bookings.pii import pii_decrypt
from apps.bookings.tasks import idempotency_purge_task
from apps.core.errors import ValidationFailed

API = ActorRef.api_key("k-1")


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> IdempotentResponse:
        self.calls += 1
        return IdempotentResponse(201, f'{{"n": {self.calls}, "note": "café"}}')


def test_idempotent_call_replays_the_stored_response_byte_for_byte(acme):
    perform = Counter()
    payload = {"service": "s1", "customer": {"email": "a@example.com", "name": "A"}}

    first = idempotent_call(key="k", actor=API, payload=payload, perform=perform)
    reordered = {"customer": {"name": "A", "email": "a@example.com"}, "service": "s1"}
    again = idempotent_call(key="k", actor=API, payload=reordered, perform=perform)

    assert perform.calls == 1
    assert (first.status_code, first.body, first.replayed) == (
        201,
        '{"n": 1, "note": "café"}',
        False,
    )
    assert (again.status_code, again.body, again.replayed) == (201, first.body, True)


def test_idempotent_call_stores_the_answer_encrypted(acme):
    secret = "tn_abcdef_s3cr3t-value"

    idempotent_call(key="k", actor=API, payload={}, perform=lambda: IdempotentResponse(201, secret))
    with connection.cursor() as cursor:
        cursor.execute("SELECT response_body FROM bookings_idempotencyrecord WHERE key = 'k'")
        [(stored,)] = cursor.fetchall()
    again = idempotent_call(key="k", actor=API, payload={}, perform=Counter())

    assert secret not in stored
    assert pii_decrypt(stored) == secret
    assert (again.body, again.replayed) == (secret, True)


def test_an_answer_stored_in_clear_before_encryption_is_still_replayed(acme):
    # given an answer stored in clear, as before answers were encrypted
    perform = Counter()
    idempotent_call(key="k", actor=API, payload={}, perform=perform)
    IdempotencyRecord.objects.update(response_body='{"n": 1, "note": "café"}')

    # when the request comes again, it gets that answer and nothing is performed again
    again = idempotent_call(key="k", actor=API, payload={}, perform=perform)

    assert (again.replayed, again.body) == (True, '{"n": 1, "note": "café"}')
    assert perform.calls == 1


def test_idempotent_call_whose_stored_answer_is_unreadable_refuses_to_perform_again(acme):
    # given an answer encrypted with a key no longer configured
    perform = Counter()
    idempotent_call(key="k", actor=API, payload={}, perform=perform)
    IdempotencyRecord.objects.update(response_body="0badc0de:gAAAAABnot-a-token")

    # when the request comes again
    with pytest.raises(IdempotencyRecordUnreadable) as caught:
        idempotent_call(key="k", actor=API, payload={}, perform=perform)

    # then it is refused, not performed a second time
    assert (caught.value.code, caught.value.http_status) == ("IDEMPOTENCY_RECORD_UNREADABLE", 409)
    assert perform.calls == 1


def test_idempotent_call_with_the_same_key_and_another_payload_is_refused(acme):
    idempotent_call(key="k", actor=API, payload={"a": 1}, perform=Counter())

    with pytest.raises(IdempotencyKeyReused) as caught:
        idempotent_call(key="k", actor=API, payload={"a": 2}, perform=Counter())

    assert (caught.value.code, caught.value.http_status) == ("IDEMPOTENCY_KEY_REUSED", 422)


def test_idempotent_call_keys_belong_to_their_actor(acme):
    perform = Counter()

    idempotent_call(key="k", actor=API, payload={}, perform=perform)
    other = idempotent_call(key="k", actor=ActorRef.api_key("k-2"), payload={}, perform=perform)

    assert (perform.calls, other.replayed) == (2, False)


def test_idempotent_call_that_raises_stores_nothing_and_frees_the_key(acme):
    def full() -> IdempotentResponse:
        raise SlotFull()

    with pytest.raises(SlotFull):
        idempotent_call(key="k", actor=API, payload={}, perform=full)

    assert not IdempotencyRecord.objects.filter(key="k").exists()
    assert idempotent_call(key="k", actor=API, payload={}, perform=Counter()).replayed is False


def test_idempotent_call_after_the_retention_performs_again(acme):
    perform = Counter()
    idempotent_call(key="k", actor=API, payload={}, perform=perform)
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))

    again = idempotent_call(key="k", actor=API, payload={"other": True}, perform=perform)

    assert (perform.calls, again.replayed) == (2, False)


@pytest.mark.parametrize("key", ["", "   ", "x" * 256, "bad\nkey"])
def test_idempotent_call_needs_a_usable_key(acme, key):
    with pytest.raises(ValidationFailed) as caught:
        idempotent_call(key=key, actor=API, payload={}, perform=Counter())

    assert caught.value.field_messages().keys() == {"Idempotency-Key"}


def test_idempotency_purge_deletes_only_records_past_retention(acme):
    for key in ("old", "fresh"):
        idempotent_call(key=key, actor=API, payload={}, perform=Counter())
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(hours=24, minutes=1)
    )

    assert idempotency_purge_task.delay().get() == 1
    assert idempotency_records_purge() == 0

    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]


def test_payload_hash_ignores_key_order_but_not_values():
    assert payload_hash({"a": 1, "b": [1, 2]}) == payload_hash({"b": [1, 2], "a": 1})
    assert payload_hash({"a": 1}) != payload_hash({"a": "1"})
