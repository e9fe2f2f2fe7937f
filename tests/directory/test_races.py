"""Races between the directory's writers, each on its own connection against committed
rows: an opt-out against a rebuild, and bookings against the refresh row."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Tenant
from apps.directory import indexing
from apps.directory.index.models import DirectoryEntry, DirectoryRefresh
from apps.directory.indexing import directory_index_rebuild
from apps.directory.models import ListingProfile
from apps.directory.outbox_kind import DIRECTORY_OUTBOX
from apps.directory.refresh import directory_refresh_request
from apps.directory.services import listing_profile_update
from apps.notifications.outbox import outbox_claim
from tests.directory.corpus import corpus_build
from tests.directory.threads import WAIT_LIMIT_SECONDS, finished_or_blocked, side_start
from tests.plugins.tenant_tables import business_tables_truncate


@pytest.fixture
def listed(committed: Tenant) -> Iterator[Tenant]:
    """The committed tenant with the corpus listed and indexed; emptied afterwards."""
    try:
        corpus_build(committed)
        yield committed
    finally:
        ListingProfile.objects.all().delete()
        business_tables_truncate(committed.schema_name)
        DirectoryEntry.objects.filter(tenant=committed).delete()
        DirectoryRefresh.objects.filter(tenant=committed).delete()


def test_an_opt_out_during_a_rebuild_leaves_no_rows(
    listed: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a rebuild has read the listing as listed and is about to write its rows
    # (the shared committed business may hold people other tests left: all are listed)
    assert DirectoryEntry.objects.filter(tenant=listed).count() >= 4
    read, go = threading.Event(), threading.Event()
    rows = indexing._rows

    def paused(**kwargs: Any) -> Any:
        read.set()
        assert go.wait(WAIT_LIMIT_SECONDS)
        return rows(**kwargs)

    monkeypatch.setattr("apps.directory.indexing._rows", paused)
    # The opt-out's own refresh request waits for a worker that has not run yet: the
    # index must be right without it.
    monkeypatch.setattr("apps.directory.refresh.outbox_enqueue_on_commit", lambda *_a: None)
    rebuild = side_start(listed, lambda: directory_index_rebuild(tenant=listed))
    assert read.wait(WAIT_LIMIT_SECONDS)
    # when: the business opts out meanwhile (it waits for the rebuild, or commits first)
    opt_out = side_start(listed, lambda: listing_profile_update(data={"is_listed": False}))
    try:
        finished_or_blocked(opt_out)
    finally:
        go.set()
        rebuild.join()
        opt_out.join()
    # then: whichever order they ran in, nothing of the business is left in the index
    assert not DirectoryEntry.objects.filter(tenant=listed).exists()


def test_bookings_of_one_business_share_its_pending_refresh_row(committed: Tenant) -> None:
    # given: a pending (debounced) refresh row, and a booking's transaction that found
    # it and has not committed yet
    try:
        first_id = directory_refresh_request(tenant_id=committed.pk, reason="slots", debounce=True)
        held, release = threading.Event(), threading.Event()

        def booking() -> Any:
            with transaction.atomic():
                found = directory_refresh_request(
                    tenant_id=committed.pk, reason="slots", debounce=True
                )
                held.set()
                assert release.wait(WAIT_LIMIT_SECONDS)
                return found

        def another_booking() -> Any:
            with transaction.atomic():
                return directory_refresh_request(
                    tenant_id=committed.pk, reason="slots", debounce=True
                )

        def claim() -> Any:
            later = timezone.now() + dt.timedelta(minutes=5)
            return outbox_claim(DIRECTORY_OUTBOX, first_id, now=later)

        first = side_start(committed, booking)
        assert held.wait(WAIT_LIMIT_SECONDS)
        # when: another booking of the business asks too, then a worker claims the row
        second = side_start(committed, another_booking)
        try:
            second_finished = finished_or_blocked(second)
            worker = side_start(committed, claim)
            claim_finished = finished_or_blocked(worker)
        finally:
            release.set()
            first.join()
            second.join()
        # then: the second booking did not wait for the first; the worker did (its
        # rebuild starts after the booking committed, so it sees it)
        assert second_finished
        assert not claim_finished
        assert worker.join() == 1
        assert first.value == second.value == first_id
    finally:
        DirectoryRefresh.objects.filter(tenant=committed).delete()
