"""`manage.py load_demo` gives the demo tenant a bookable schedule, once, on development
machines only, with credentials drawn for each machine and kept private."""

from __future__ import annotations

import datetime as dt
import json
import stat

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.accounts.models import Tenant, User
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


@pytest.fixture
def development_machine(settings, tmp_path):
    """DEBUG on and this test's own `.local/`: what `make run` gives load_demo."""
    settings.DEBUG, settings.LOCAL_DIR = True, tmp_path
    return tmp_path


def test_load_demo_gives_the_demo_tenant_a_bookable_schedule_once(capsys, development_machine):
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


FIXTURE = json.loads((settings.BASE_DIR / "fixtures" / "demo.json").read_text())


@pytest.mark.parametrize(
    "refused",
    [
        {"DEBUG": False},
        {"DEBUG": True, "SETTINGS_MODULE": "config.settings.prod"},
    ],
)
def test_load_demo_refuses_outside_development(refused, tmp_path):
    with override_settings(LOCAL_DIR=tmp_path, **refused), pytest.raises(CommandError) as error:
        call_command("load_demo")

    assert "development machines only" in str(error.value)
    assert not (tmp_path / "demo-credentials.json").exists()  # nothing drawn or written


def test_demo_credentials_are_drawn_once_per_machine_and_kept_private(capsys, settings, tmp_path):
    # given two machines
    first, second = tmp_path / "first", tmp_path / "second"
    settings.DEBUG = True

    # when the first loads the demo twice, and the second once
    settings.LOCAL_DIR = first
    call_command("load_demo")
    written = (first / "demo-credentials.json").read_text()
    call_command("load_demo", "--if-missing")
    again = capsys.readouterr().out
    settings.LOCAL_DIR = second
    call_command("load_demo", "--if-missing")
    other = json.loads((second / "demo-credentials.json").read_text())

    # then the file is the owner's alone and kept; no published password works
    path = first / "demo-credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == written
    mine = json.loads(written)
    assert mine["owner"]["password"] in again and mine["owner"]["backup_codes"][0] in again
    assert mine["owner"]["password"] != other["owner"]["password"]
    assert mine["owner"]["totp_key"] != other["owner"]["totp_key"]
    owner = User.objects.get(email=FIXTURE["owner"]["email"])
    assert owner.check_password(other["owner"]["password"])  # the last machine's, here
    assert not owner.check_password(mine["owner"]["password"])
    for published in ("demo-owner-2026", "support-demo-2026"):
        assert not any(
            user.check_password(published)
            for user in User.objects.filter(email__in=[p["email"] for p in other.values()])
        )


def test_a_loose_credentials_file_is_closed_and_reused(capsys, development_machine):
    call_command("load_demo", "--if-missing")
    path = development_machine / "demo-credentials.json"
    drawn = path.read_text()
    path.chmod(0o644)

    call_command("load_demo", "--if-missing")

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == drawn
    assert json.loads(drawn)["platform_admin"]["password"] in capsys.readouterr().out


def test_load_demo_if_missing_leaves_a_loaded_demo_and_new_businesses_alone(
    capsys, development_machine
):
    call_command("load_demo")
    demo = Tenant.objects.get(slug="demo")
    with tenant_context(demo):
        Location.objects.update(name="Renamed by its owner")
    capsys.readouterr()

    call_command("load_demo", "--if-missing")

    assert "loaded already" in capsys.readouterr().out
    with tenant_context(demo):
        assert list(Location.objects.values_list("name", flat=True)) == ["Renamed by its owner"]
    owner = json.loads((development_machine / "demo-credentials.json").read_text())["owner"]
    client = Client(HTTP_HOST="demo.localhost")
    form = {"username": owner["email"], "password": owner["password"]}
    assert client.post("/accounts/login/", form).status_code == 302
