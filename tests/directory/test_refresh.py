"""Keeping the index current: refresh requests through the outbox, debouncing, the
worker's side, the repair of drift and `rebuild_directory`."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.accounts.models import Tenant
from apps.directory.index.models import DirectoryEntry, DirectoryRefresh
from apps.directory.refresh import (
    directory_dispatch_due,
    directory_refresh_request,
    directory_refresh_run,
    directory_repair,
)
from apps.resources.models import Service
from tests.dashboard.factories import booking_made, local_at
from tests.directory.corpus import Corpus


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
