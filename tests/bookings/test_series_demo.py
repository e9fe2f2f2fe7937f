"""`manage.py load_series_demo` gives the demo business a recurring client, once."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django_tenants.utils import tenant_context

from apps.accounts.models import Tenant
from apps.bookings.models import Booking, BookingSeries
from apps.resources.models import Service

pytestmark = pytest.mark.django_db


@pytest.fixture
def development_machine(settings, tmp_path):
    settings.DEBUG, settings.LOCAL_DIR = True, tmp_path
    return tmp_path


@pytest.mark.slow
def test_load_series_demo_books_a_recurring_client_once(capsys, development_machine):
    call_command("load_demo")
    call_command("load_series_demo", "--if-missing")
    call_command("load_series_demo", "--if-missing")

    output = capsys.readouterr().out
    assert "Recurring client Priya Shah: 8 bookings, every 2 weeks" in output
    assert "left as it is" in output
    with tenant_context(Tenant.objects.get(slug="demo")):
        series = BookingSeries.objects.get()
        assert series.every_weeks == 2
        occurrences = series.occurrences.all()
        assert {b.status for b in occurrences} == {Booking.Status.CONFIRMED}
        assert occurrences.count() == 8
        assert Service.objects.get(name="Yoga class").customers_may_repeat is True


def test_load_series_demo_is_for_development_machines_only(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("load_series_demo")
