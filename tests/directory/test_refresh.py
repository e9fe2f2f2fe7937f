"""Keeping the index current: refresh requests through the outbox, debouncing, the
worker's side, the repair of drift and `rebuild_directory`."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from apps.accounts.models import Tenant
from apps.accounts.selectors import tenants_ready
from apps.billing.services import tenant_reactivate, tenant_suspend
from apps.calendars.grid.services import resources_materialize
from apps.directory.index.models import DirectoryEntry, DirectoryRefresh
from apps.directory.indexing import directory_index_rebuild
from apps.directory.outbox_kind import DIRECTORY_OUTBOX
from apps.directory.refresh import (
    directory_dispatch_due,
    directory_refresh_request,
    directory_refresh_run,
    directory_repair,
)
from apps.notifications.outbox import outbox_claim
from apps.resources.models import Resource, Service
from apps.resources.signals import schedule_changed
from tests.dashboard.factories import booking_made, local_at
from tests.directory.corpus import Corpus
from tests.plugins.factories import UserFactory


def test_changes_in_a_burst_fold_into_one_debounced_refresh(corpus: Corpus, acme: Tenant) -> None:
    # given
    now = timezone.now()
    # when: three slot changes within the debounce interval
    ids = {
        directory_refresh_request(tenant_id=acme.pk, reason="slots", debounce=True, now=now)
        for _ in range(3)
    }
    # then: one pending row, due after the interval
    (row,) = DirectoryRefresh.objects.filter(tenant=acme, status="pending")
    assert ids == {row.pk}
    assert row.next_attempt_at == now + dt.timedelta(seconds=30)
    # and a listing change makes the same row due at once
    directory_refresh_request(tenant_id=acme.pk, reason="listing", debounce=False, now=now)
    row.refresh_from_db()
    assert row.next_attempt_at == now and row.reason == "listing"


def test_a_confirmed_booking_refreshes_the_next_free_start(
    corpus: Corpus, acme: Tenant, settings: Any
) -> None:
    # given: Anna's first free start is indexed
    anna = corpus.people["Anna Berg"]
    entry = DirectoryEntry.objects.get(resource_id=anna.pk)
    first_free = entry.next_free_at
    assert first_free is not None
    # when: a customer books it (the booking's transaction writes the refresh row)
    booking_made(service=Service.objects.get(resources=anna), resource=anna, starts_at=first_free)
    (row,) = DirectoryRefresh.objects.filter(tenant=acme, status="pending")
    assert row.reason == "slots"
    # nothing is due before the debounce interval has passed …
    assert directory_dispatch_due() == 0
    # … then the beat hands it to a worker (eager here), which rebuilds the rows
    DirectoryRefresh.objects.filter(pk=row.pk).update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert directory_dispatch_due() == 1
    row.refresh_from_db()
    assert row.status == "done"
    entry.refresh_from_db()
    assert entry.next_free_at != first_free


def test_a_materialization_that_changed_slots_asks_for_a_refresh(
    corpus: Corpus, acme: Tenant
) -> None:
    # given: Anna has open slots no rule allows (the corpus opened them by hand)
    anna = corpus.people["Anna Berg"]
    # when: her schedule changes (nothing is due until the grid is rebuilt) …
    schedule_changed.send(sender=Resource, resource_ids=[anna.pk])
    assert not DirectoryRefresh.objects.filter(tenant=acme).exists()
    # … and the rebuild of her grid removes those slots
    assert resources_materialize(resource_ids=[anna.pk]).removed > 0
    # then
    (row,) = DirectoryRefresh.objects.filter(tenant=acme, status="pending")
    assert row.reason == "slots"
    # and a rebuild that changes nothing asks for nothing
    DirectoryRefresh.objects.all().delete()
    assert not resources_materialize(resource_ids=[anna.pk]).changed
    assert not DirectoryRefresh.objects.exists()


def test_unlisted_businesses_write_no_refresh_rows(acme: Tenant) -> None:
    from tests.directory.corpus import corpus_build

    corpus = corpus_build(acme, listed=False)
    anna = corpus.people["Anna Berg"]
    booking_made(
        service=Service.objects.get(resources=anna),
        resource=anna,
        starts_at=local_at(anna.location, days=4, hour=11),
    )
    assert not DirectoryRefresh.objects.filter(tenant=acme).exists()


def test_a_refresh_is_claimed_once(corpus: Corpus, acme: Tenant) -> None:
    refresh_id = directory_refresh_request(tenant_id=acme.pk, reason="listing", debounce=False)
    assert directory_refresh_run(refresh_id=refresh_id) == "done"
    assert directory_refresh_run(refresh_id=refresh_id) == "skipped"


def test_a_failed_rebuild_is_retried_later(
    corpus: Corpus, acme: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the rebuild fails once
    def broken(**_: Any) -> int:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("apps.directory.refresh.directory_index_rebuild", broken)
    refresh_id = directory_refresh_request(tenant_id=acme.pk, reason="listing", debounce=False)
    # when
    assert directory_refresh_run(refresh_id=refresh_id) == "retry"
    # then: pending again, later, with the reason kept; the old rows still serve
    row = DirectoryRefresh.objects.get(pk=refresh_id)
    assert row.status == "pending" and row.attempts == 1
    assert row.next_attempt_at > timezone.now()
    assert "disk on fire" in row.last_error
    assert DirectoryEntry.objects.filter(tenant=acme).count() == 4


def test_a_failed_rebuild_with_a_newer_request_is_superseded(
    corpus: Corpus, acme: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a change comes in while the rebuild runs (a new pending row), then the
    # rebuild fails
    def broken(**_: Any) -> int:
        directory_refresh_request(tenant_id=acme.pk, reason="slots", debounce=True)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("apps.directory.refresh.directory_index_rebuild", broken)
    refresh_id = directory_refresh_request(tenant_id=acme.pk, reason="listing", debounce=False)
    # when
    assert directory_refresh_run(refresh_id=refresh_id) == "retry"
    # then: the newer row carries the retry; the failed one is settled as superseded
    row = DirectoryRefresh.objects.get(pk=refresh_id)
    assert (row.status, row.status_reason) == ("done", "superseded")
    assert "disk on fire" in row.last_error
    (pending,) = DirectoryRefresh.objects.filter(tenant=acme, status="pending")
    assert pending.pk != refresh_id
    # and the beat goes on
    assert directory_dispatch_due() == 0


def test_a_dead_workers_row_with_a_newer_request_is_superseded(
    corpus: Corpus, acme: Tenant
) -> None:
    # given: a worker claimed a row and died; a change came in meanwhile
    refresh_id = directory_refresh_request(tenant_id=acme.pk, reason="listing", debounce=False)
    now = timezone.now()
    assert outbox_claim(DIRECTORY_OUTBOX, refresh_id, now=now) == 1
    newer_id = directory_refresh_request(tenant_id=acme.pk, reason="slots", debounce=True)
    assert newer_id != refresh_id
    # when: the beat runs after the lease ran out
    later = now + dt.timedelta(seconds=settings.DIRECTORY_REFRESH_LEASE_SECONDS + 1)
    assert directory_dispatch_due(now=later) == 1
    # then: the dead worker's row is superseded, and the newer row went to a worker
    row = DirectoryRefresh.objects.get(pk=refresh_id)
    assert (row.status, row.status_reason) == ("done", "superseded")
    newer = DirectoryRefresh.objects.get(pk=newer_id)
    assert (newer.status, newer.dispatched_at) == ("pending", later)


def test_a_dead_workers_row_alone_is_requeued(corpus: Corpus, acme: Tenant) -> None:
    refresh_id = directory_refresh_request(tenant_id=acme.pk, reason="listing", debounce=False)
    now = timezone.now()
    assert outbox_claim(DIRECTORY_OUTBOX, refresh_id, now=now) == 1
    later = now + dt.timedelta(seconds=settings.DIRECTORY_REFRESH_LEASE_SECONDS + 1)
    assert directory_dispatch_due(now=later) == 1
    row = DirectoryRefresh.objects.get(pk=refresh_id)
    assert (row.status, row.status_reason, row.dispatched_at) == ("pending", "recovered", later)


def test_repair_drops_closed_businesses_and_refreshes_stale_rows(
    corpus: Corpus, acme: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    # given: acme's rows went stale (their next free start passed)
    DirectoryEntry.objects.filter(tenant=acme).update(
        next_free_at=timezone.now() - dt.timedelta(hours=1)
    )
    # when
    with django_capture_on_commit_callbacks(execute=True):
        result = directory_repair()
    # then: acme was rebuilt (eagerly here) and its next free starts lie ahead again
    assert result.requested == 1
    assert all(
        e.next_free_at is None or e.next_free_at > timezone.now()
        for e in DirectoryEntry.objects.filter(tenant=acme)
    )
    # when acme is closed, the next repair takes its rows out
    Tenant.objects.filter(pk=acme.pk).update(status=Tenant.Status.CLOSED)
    assert directory_repair().removed == 4
    assert not DirectoryEntry.objects.filter(tenant=acme).exists()


def test_a_reactivated_business_gets_its_rows_back(
    corpus: Corpus, acme: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    # given: support suspends the business; its rows go stale meanwhile
    agent = UserFactory.create(is_staff=True)
    tenant_suspend(tenant=acme, reason="Abuse report", agent=agent)
    DirectoryEntry.objects.filter(tenant=acme).update(
        next_free_at=timezone.now() - dt.timedelta(hours=1)
    )
    # when: the repair runs, it leaves a suspended business's rows alone
    with django_capture_on_commit_callbacks(execute=True):
        result = directory_repair()
    assert result.requested == 0
    assert DirectoryEntry.objects.filter(tenant=acme).count() == 4
    # and when its rows went anyway (a rebuild while suspended writes none) …
    assert directory_index_rebuild(tenant=acme) == 0
    # … reactivation asks for a rebuild, which brings them back
    with django_capture_on_commit_callbacks(execute=True):
        tenant_reactivate(tenant=acme, reason="Cleared", agent=agent)
    assert DirectoryEntry.objects.filter(tenant=acme).count() == 4


def test_rebuild_directory_goes_on_past_a_failing_business(
    corpus: Corpus, acme: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the first business's rebuild fails
    rebuilt: list[str] = []

    def rebuild(*, tenant: Tenant) -> int:
        rebuilt.append(tenant.slug)
        if len(rebuilt) == 1:
            raise RuntimeError("broken catalogue")
        return 1

    monkeypatch.setattr(
        "apps.directory.management.commands.rebuild_directory.directory_index_rebuild", rebuild
    )
    ready = list(tenants_ready().order_by("slug").values_list("slug", flat=True))
    # when / then: every business was tried, and the command fails naming the first
    with pytest.raises(CommandError, match=f"1 business\\(es\\) could not be rebuilt: {ready[0]}"):
        call_command("rebuild_directory", verbosity=0, stdout=StringIO())
    assert rebuilt == ready


def test_rebuild_directory_rebuilds_from_scratch(corpus: Corpus, acme: Tenant) -> None:
    # given: the index lost acme's rows
    DirectoryEntry.objects.all().delete()
    out = StringIO()
    # when
    call_command("rebuild_directory", verbosity=0, stdout=out)
    # then
    assert DirectoryEntry.objects.filter(tenant=acme).count() == 4
    assert "Indexed 4 listing(s)" in out.getvalue()


def test_the_demo_listing_loads_for_make_run(acme: Tenant, settings: Any, tmp_path: Any) -> None:
    # given: a demo fixture naming acme and two of its people
    import json

    from tests.directory.corpus import corpus_build

    corpus_build(acme, listed=False)
    fixture = tmp_path / "demo.json"
    fixture.write_text(
        json.dumps(
            {
                "tenant": "acme",
                "listing": {"is_listed": True, "coordinates": "51.5, -0.12"},
                "people": {"Anna Berg": {"is_listed": True}, "Dev Patel": {"is_listed": False}},
            }
        )
    )
    settings.DEBUG = True
    out = StringIO()
    # when
    call_command("load_directory_demo", file=str(fixture), stdout=out)
    # then
    names = set(DirectoryEntry.objects.filter(tenant=acme).values_list("name", flat=True))
    assert names == {"Anna Berg", "José Müller", "Clara Stone"}
    assert "3 listing(s)" in out.getvalue()
