"""`manage.py load_demo` gives the demo tenant a bookable schedule, once."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.accounts.models import Tenant
from apps.calendars.availability.selectors import availability_dates
from apps.calendars.models import AvailabilityRule, SlotInstance
from apps.calendars.timezones import local_date, zone
from apps.resources.models import Location, Resource, Service

pytestmark = pytest.mark.django_db

SCHEDULE = json.loads((settings.BASE_DIR / "fixtures" / "demo.json").read_text())["schedule"]


def _counts() -> dict[str, int]:
    return {
        "locations": Location.objects.count(),
        "people": Resource.objects.filter(kind=Resource.Kind.PERSON).count(),
        "rooms": Resource.objects.filter(kind=Resource.Kind.ASSET).count(),
        "services": Service.objects.count(),
        "rules": AvailabilityRule.objects.count(),
        "slots": SlotInstance.objects.count(),
    }


def test_load_demo_gives_the_demo_tenant_a_bookable_schedule_once(capsys):
    # when: loaded twice
    call_command("load_demo")
    first_output = capsys.readouterr().out
    demo = Tenant.objects.get(slug="demo")
    with tenant_context(demo):
        after_first = _counts()
    call_command("load_demo")
    second_output = capsys.readouterr().out

    # then: a location, three staff people and a room, three services, weekly hours
    with tenant_context(demo):
        assert after_first == _counts()
        assert {k: v for k, v in after_first.items() if k != "slots"} == {
            "locations": 1,
            "people": 3,
            "rooms": 1,
            "services": 3,
            "rules": len(SCHEDULE["rules"]),
        }
        assert sorted(Service.objects.values_list("capacity", flat=True)) == [1, 1, 6]
        yoga = Service.objects.get(capacity=6)
        assert [r.kind for r in yoga.resources.all()] == [Resource.Kind.ASSET]

        # and slots up to the horizon, which every service can be booked on
        tz = zone("Europe/London")
        today = local_date(timezone.now(), tz)
        last = SlotInstance.objects.order_by("-starts_at").first()
        assert last is not None
        assert local_date(last.starts_at, tz) > today + dt.timedelta(days=80)
        for service in Service.objects.all():
            dates = availability_dates(
                service=service,
                start=today + dt.timedelta(days=1),
                end=today + dt.timedelta(days=14),
            )
            assert sum(day.free for day in dates.dates) > 0, service.name
    assert (
        f"locations +1, resources +4, services +3, rules +{len(SCHEDULE['rules'])};" in first_output
    )
    assert f"slots created {after_first['slots']}," in first_output
    assert "locations +0, resources +0, services +0, rules +0; slots created 0," in second_output
