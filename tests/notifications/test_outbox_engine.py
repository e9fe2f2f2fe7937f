"""The outbox engine (apps/notifications/outbox.py) for both of its kinds, customer
messages and webhook deliveries: a due row is claimed once however many workers race for
it, due rows are dispatched in batches and not twice within the re-dispatch interval, the
retry delay grows and is capped by each kind's own settings, stale claims are recovered,
and rows are enqueued only once their transaction commits, even with the broker down.

Races run real threads, each on its own PostgreSQL connection, against committed rows in
a tenant of their own (the `committed` fixture of tests/notifications/committed.py)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from apps.accounts.models import Tenant
from apps.bookings import pii
from apps.core.tenancy import use_tenant
from apps.notifications import outbox
from apps.notifications.messages.outbox_kind import MESSAGE_OUTBOX
from apps.notifications.outbox import (
    OutboxKind,
    outbox_claim,
    outbox_dispatch_due,
    outbox_enqueue_on_commit,
    outbox_recover_stale,
    outbox_requeue_or_fail,
    outbox_retry_delay,
)
from apps.notifications.webhooks.models import (
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    WebhookEventType,
)
from apps.notifications.webhooks.outbox_kind import WEBHOOK_OUTBOX
from tests.notifications.committed import due_notifications


def due_deliveries(
    count: int, *, due_at: datetime | None = None, spread: float = 0.0
) -> list[WebhookDelivery]:
    """`count` webhook deliveries due at `due_at` (default: now), the i-th one `i * spread`
    seconds later, each of its own event, to one endpoint; nothing here sends them."""
    endpoint = WebhookEndpoint.objects.create(
        url="https://crm.example.test/hooks",
        events=[WebhookEventType.BOOKING_CONFIRMED],
        secret_encrypted=pii.pii_encrypt("whsec_test"),
        secret_hint="test",
    )
    due_at = due_at or timezone.now()
    deliveries = []
    for i in range(count):
        event = WebhookEvent.objects.create(
            type=WebhookEventType.BOOKING_CONFIRMED, version=1, body_encrypted="{}"
        )
        deliveries.append(
            WebhookDelivery.objects.create(
                endpoint=endpoint,
                event=event,
                attempts_allowed=3,
                next_attempt_at=due_at + timedelta(seconds=i * spread),
            )
        )
    return deliveries


def due_messages(count: int, *, due_at: datetime | None = None, spread: float = 0.0) -> list[Any]:
    """Call once per test: the rows' bookings share one customer."""
    return list(due_notifications(count, due_at=due_at, spread=spread))


@dataclass(frozen=True)
class Case:
    kind: OutboxKind
    make_due: Callable[..., list[Any]]
    # How many attempts a row gets before recovery fails it for good.
    max_attempts: Callable[[Any, Any], int]


MESSAGES = Case(
    kind=MESSAGE_OUTBOX,
    make_due=due_messages,
    max_attempts=lambda row, settings: settings.NOTIFICATION_MAX_ATTEMPTS,
)
WEBHOOKS = Case(
    kind=WEBHOOK_OUTBOX,
    make_due=due_deliveries,
    max_attempts=lambda row, settings: row.attempts_allowed,
)
both_kinds = pytest.mark.parametrize("case", [MESSAGES, WEBHOOKS], ids=["messages", "webhooks"])


@pytest.fixture
def committed_outboxes(committed: Tenant) -> Iterator[Tenant]:
    """The committed tenant, emptied of webhook rows too afterwards (`committed` empties
    the messages and bookings)."""
    try:
        yield committed
    finally:
        WebhookEndpoint.objects.all().delete()
        WebhookEvent.objects.all().delete()


def race(tenant: Tenant, calls: list[Callable[[], Any]]) -> list[Any]:
    """Runs the calls at once, each in a thread with its own connection (connected before
    the start line, so connecting is not part of the race). Returns their results."""
    results: list[Any] = [None] * len(calls)
    crashes: list[BaseException] = []
    barrier = threading.Barrier(len(calls))

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            use_tenant(tenant)
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            barrier.wait(timeout=60)
            results[index] = call()
        except BaseException as exc:
            crashes.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(i, call), daemon=True) for i, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a racing thread hung"
    assert not crashes, crashes
    return results


# --- Claim ----------------------------------------------------------------------------


@both_kinds
def test_claim_of_a_due_row_raced_by_eight_workers_succeeds_once(committed_outboxes, case):
    # given one due row, committed
    row = case.make_due(1)[0]
    now = timezone.now()

    # when eight workers claim it at the same instant
    attempts = race(
        committed_outboxes, [lambda: outbox_claim(case.kind, row.id, now=now) for _ in range(8)]
    )

    # then exactly one got it, as its first attempt, and holds a lease
    assert sorted(attempts, key=lambda a: a or 0) == [None] * 7 + [1]
    row.refresh_from_db()
    assert row.status == "sending"
    assert row.attempts == 1
    lease = timedelta(seconds=case.kind.setting(case.kind.lease_setting))
    assert row.lease_expires_at == now + lease


@both_kinds
def test_claim_of_a_row_not_yet_due_or_not_pending_changes_nothing(acme, case):
    # given a row due in a minute
    now = timezone.now()
    row = case.make_due(1, due_at=now + timedelta(minutes=1))[0]

    # when it is claimed now, then it is not; once due it is, and only once
    assert outbox_claim(case.kind, row.id, now=now) is None
    later = now + timedelta(minutes=1)
    assert outbox_claim(case.kind, row.id, now=later) == 1
    assert outbox_claim(case.kind, row.id, now=later) is None
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sending", 1)


def test_claim_of_a_webhook_delivery_stamps_its_last_attempt(acme):
    # given a due delivery (the delivery log shows when its last attempt started)
    now = timezone.now()
    delivery = due_deliveries(1, due_at=now)[0]

    # when it is claimed
    outbox_claim(WEBHOOK_OUTBOX, delivery.id, now=now)

    # then
    delivery.refresh_from_db()
    assert delivery.last_attempt_at == now


# --- Dispatch ---------------------------------------------------------------------------


@both_kinds
def test_dispatch_due_queues_due_rows_in_batches_oldest_first_and_not_twice(acme, case, settings):
    # given three rows due a minute apart and one not due yet
    now = timezone.now()
    *rows, later_one = case.make_due(4, due_at=now - timedelta(minutes=3), spread=60)
    type(later_one).objects.filter(pk=later_one.pk).update(next_attempt_at=now + timedelta(hours=1))
    setattr(settings, case.kind.redispatch_setting, 300)

    # when the dispatcher runs in batches of two
    first = outbox_dispatch_due(case.kind, now=now, limit=2)
    second = outbox_dispatch_due(case.kind, now=now, limit=2)
    third = outbox_dispatch_due(case.kind, now=now, limit=2)

    # then each due row is queued once, oldest first
    assert first == [rows[0].id, rows[1].id]
    assert second == [rows[2].id]
    assert third == []
    # and queued again only when its task seems lost (after the re-dispatch interval)
    later = now + timedelta(seconds=301)
    assert outbox_dispatch_due(case.kind, now=later, limit=10) == [r.id for r in rows]


@both_kinds
def test_dispatch_due_raced_by_two_dispatchers_queues_each_row_once(committed_outboxes, case):
    # given ten due rows, committed
    ids = {row.id for row in case.make_due(10)}
    now = timezone.now()

    # when two dispatchers run at once, in batches of four
    def dispatch_all() -> list[Any]:
        queued: list[Any] = []
        while batch := outbox_dispatch_due(case.kind, now=now, limit=4):
            queued += batch
        return queued

    first, second = race(committed_outboxes, [dispatch_all, dispatch_all])

    # then every row was queued by one of them, none by both
    assert not set(first) & set(second)
    assert set(first) | set(second) == ids


# --- Retry delay ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "base", "cap", "expected"),
    [
        (MESSAGES, 60, 600, [60, 120, 240, 480, 600, 600]),
        (WEBHOOKS, 30, 100, [30, 60, 100, 100, 100, 100]),
    ],
    ids=["messages", "webhooks"],
)
def test_retry_delay_doubles_from_the_kinds_base_up_to_its_cap(case, base, cap, expected, settings):
    # given each kind's own settings, the other kind's set far apart
    for kind in (MESSAGE_OUTBOX, WEBHOOK_OUTBOX):
        setattr(settings, kind.retry_base_setting, 7)
        setattr(settings, kind.retry_max_setting, 7)
    setattr(settings, case.kind.retry_base_setting, base)
    setattr(settings, case.kind.retry_max_setting, cap)

    # when / then
    delays = [outbox_retry_delay(case.kind, attempts) for attempts in range(1, 7)]
    assert delays == [timedelta(seconds=s) for s in expected]
    other = WEBHOOK_OUTBOX if case.kind is MESSAGE_OUTBOX else MESSAGE_OUTBOX
    assert outbox_retry_delay(other, 3) == timedelta(seconds=7)


# --- Recovery ---------------------------------------------------------------------------


def _stale(row: Any, *, attempts: int, lease_expires_at: datetime) -> Any:
    type(row).objects.filter(pk=row.pk).update(
        status="sending", attempts=attempts, lease_expires_at=lease_expires_at
    )
    row.refresh_from_db()
    return row


@both_kinds
def test_recover_stale_requeues_a_lost_claim_and_fails_one_that_had_its_last_attempt(
    acme, case, settings
):
    # given a row whose worker died on its first attempt, one that died on its last, and
    # one whose worker may still be sending (its lease has not run out)
    now = timezone.now()
    lost, last, live = case.make_due(3, due_at=now - timedelta(minutes=10))
    _stale(lost, attempts=1, lease_expires_at=now - timedelta(seconds=1))
    allowed = case.max_attempts(last, settings)
    _stale(last, attempts=allowed, lease_expires_at=now - timedelta(seconds=1))
    _stale(live, attempts=1, lease_expires_at=now + timedelta(seconds=30))

    # when recovery runs, resolving each stale row the way both kinds share
    outcomes = outbox_recover_stale(
        case.kind,
        now=now,
        limit=10,
        resolve=lambda row: outbox_requeue_or_fail(
            row, max_attempts=case.max_attempts(row, settings), now=now, lost="worker died"
        ),
    )

    # then the lost claim is due again at once, the exhausted one failed, the live one kept
    assert outcomes == {"requeued": 1, "failed": 1}
    for row in (lost, last, live):
        row.refresh_from_db()
    assert (lost.status, lost.status_reason, lost.last_error) == (
        "pending",
        "recovered",
        "worker died",
    )
    assert (lost.next_attempt_at, lost.dispatched_at, lost.lease_expires_at) == (now, None, None)
    assert (last.status, last.status_reason, last.lease_expires_at) == (
        "failed",
        "worker_lost",
        None,
    )
    assert (live.status, live.lease_expires_at) == ("sending", now + timedelta(seconds=30))


@both_kinds
def test_recover_stale_raced_by_two_workers_resolves_each_row_once(committed_outboxes, case):
    # given six rows left sending by a dead worker, committed
    now = timezone.now()
    rows = case.make_due(6, due_at=now - timedelta(minutes=10))
    for row in rows:
        _stale(row, attempts=1, lease_expires_at=now - timedelta(seconds=1))
    resolved: list[Any] = []

    def resolve(row: Any) -> str:
        resolved.append(row.id)
        return outbox_requeue_or_fail(row, max_attempts=3, now=now, lost="worker died")

    # when two recoveries run at once
    def recover() -> Any:
        return outbox_recover_stale(case.kind, now=now, limit=10, resolve=resolve)

    first, second = race(committed_outboxes, [recover, recover])

    # then every row was resolved once, by one of them
    assert sorted(resolved) == sorted(row.id for row in rows)
    assert first["requeued"] + second["requeued"] == 6
    statuses = type(rows[0]).objects.filter(pk__in=[r.id for r in rows])
    assert set(statuses.values_list("status", flat=True)) == {"pending"}


# --- Enqueue on commit ------------------------------------------------------------------


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, str]]:
    """What the engine hands to the task queue, instead of a broker."""
    calls: list[tuple[str, str]] = []
    monkeypatch.setattr(outbox, "task_enqueue", lambda name, *args: calls.append((name, *args)))
    return calls


@both_kinds
def test_enqueue_on_commit_sends_the_kinds_task_only_once_the_transaction_commits(
    committed_outboxes, case, sent
):
    # given a transaction that wrote two rows
    with transaction.atomic():
        ids = [row.id for row in case.make_due(2)]
        outbox_enqueue_on_commit(case.kind, ids)

        # then nothing is sent while it is open
        assert sent == []

    # and each row's send task goes out once it committed
    assert sent == [(case.kind.send_task, str(row_id)) for row_id in ids]


@both_kinds
def test_enqueue_on_commit_sends_nothing_for_a_rolled_back_transaction(
    committed_outboxes, case, sent
):
    # given a transaction that wrote a row and then failed
    with pytest.raises(RuntimeError), transaction.atomic():  # noqa: PT012
        row = case.make_due(1)[0]
        outbox_enqueue_on_commit(case.kind, [row.id])
        raise RuntimeError("a later step of the same transaction failed")

    # then nothing was sent (and the row is gone with the transaction)
    assert sent == []
    assert not type(row).objects.filter(pk=row.id).exists()


@both_kinds
def test_enqueue_on_commit_with_the_broker_down_keeps_the_commit_and_logs(
    committed_outboxes, case, monkeypatch, caplog
):
    # given a broker that refuses the message of one row
    refused: set[str] = set()
    sent: list[str] = []

    def broker(name: str, row_id: str) -> None:
        if row_id in refused:
            raise ConnectionRefusedError("broker out of reach")
        sent.append(row_id)

    monkeypatch.setattr(outbox, "task_enqueue", broker)

    # when a transaction that wrote two rows commits
    with (
        caplog.at_level(logging.WARNING, logger="apps.notifications.outbox"),
        transaction.atomic(),
    ):
        first, second = case.make_due(2)
        refused.add(str(first.id))
        outbox_enqueue_on_commit(case.kind, [first.id, second.id])

    # then the commit stands, the other row still went out, and the failure is logged
    # under the kind's event name (the dispatcher picks the row up later)
    assert type(first).objects.filter(pk__in=[first.id, second.id]).count() == 2
    assert sent == [str(second.id)]
    [record] = [r for r in caplog.records if r.name == "apps.notifications.outbox"]
    assert record.levelno == logging.WARNING
    assert record.getMessage() == f"{case.kind.row_event}.enqueue_failed"
    assert getattr(record, case.kind.id_field) == str(first.id)


def test_enqueue_failure_events_keep_their_names():
    # The log events dashboards and alerts look for, as before the engine was shared.
    assert f"{MESSAGE_OUTBOX.row_event}.enqueue_failed" == "notification.enqueue_failed"
    assert MESSAGE_OUTBOX.id_field == "notification_id"
    assert f"{WEBHOOK_OUTBOX.row_event}.enqueue_failed" == "webhook_delivery.enqueue_failed"
    assert WEBHOOK_OUTBOX.id_field == "delivery_id"
    assert (MESSAGE_OUTBOX.send_task, WEBHOOK_OUTBOX.send_task) == (
        "notifications.send",
        "webhooks.send",
    )
