"""The business's own audit page (admins only): its model history with who changed what
and the diff, and the support accesses to its admin with their reasons, newest first,
filtered and paged; never another business's trail."""

from __future__ import annotations

import datetime as dt

import pytest
from auditlog.context import set_actor
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import reverse
from django_tenants.utils import tenant_context

from apps.accounts.models import Membership
from apps.resources.models import Location, Resource
from tests.dashboard.factories import LocationFactory, ResourceFactory
from tests.dashboard.screens import HOST
from tests.plugins.factories import MembershipFactory, UserFactory, signed_in_with_mfa

pytestmark = pytest.mark.django_db

URL = "/dashboard/audit/"


def _renamed(resource: Resource, name: str, *, by) -> None:
    with set_actor(by):
        resource.name = name
        resource.save()


@pytest.mark.parametrize(
    ("role", "status"),
    [("admin", 200), ("manager", 403), ("scheduler", 403), ("frontdesk", 403)],
)
def test_the_audit_page_is_for_admins_only(client_as, role, status):
    assert reverse("dashboard:audit") == URL
    response = client_as(role).get(URL)

    assert response.status_code == status
    if status == 200:
        assert "Audit trail" in response.content.decode()


def test_the_audit_page_is_in_the_navigation_of_admins_only(client_as):
    assert f'href="{URL}"' in client_as("admin").get("/dashboard/").content.decode()
    assert f'href="{URL}"' not in client_as("manager").get("/dashboard/").content.decode()


def test_a_change_shows_who_made_it_when_and_what_changed(acme, admin_client_acme):
    # given a manager who renames a room
    manager = MembershipFactory.create(tenant=acme, role=Membership.Role.MANAGER).user
    room = ResourceFactory.create(name="Room Amber")
    _renamed(room, "Room Birch", by=manager)

    # when an admin opens the audit page
    page = admin_client_acme.get(URL)

    # then the newest entry is the rename, by the manager, with the diff
    assert page.status_code == 200
    newest = page.context["entries"][0]
    assert (newest.kind, newest.who, newest.action) == ("change", manager.email, "Changed")
    assert newest.what.startswith("Resource · Room Birch")
    assert ("Room Amber", "Room Birch") in [(c.before, c.after) for c in newest.changes]
    body = page.content.decode()
    assert "<del>Room Amber</del>" in body and "<ins>Room Birch</ins>" in body
    assert manager.email in body
    # and the room's creation, older, follows it
    kinds = [(entry.action, entry.what) for entry in page.context["entries"]]
    assert kinds.index(("Created", newest.what.replace("Birch", "Amber"))) > 0


def test_support_accesses_show_with_the_reason_the_agent_gave(acme, acme_host, admin_client_acme):
    agent = UserFactory.create(email="helper@timenest.test", is_staff=True, is_superuser=True)
    support = Client(HTTP_HOST=acme_host)
    signed_in_with_mfa(support, agent)
    support.post(
        "/admin/support-reason/", {"reason": "Ticket 12: cannot log in", "next": "/admin/"}
    )

    page = admin_client_acme.get(URL, {"kind": "access"})

    assert page.status_code == 200
    entries = page.context["entries"]
    assert entries and all(entry.kind == "access" for entry in entries)
    assert {entry.who for entry in entries} == {"helper@timenest.test"}
    assert "Ticket 12: cannot log in" in [entry.reason for entry in entries]
    body = page.content.decode()
    assert "TimeNest support" in body and "Ticket 12: cannot log in" in body


def test_the_trail_filters_by_record_person_and_day(acme, admin_client_acme):
    # given changes to a location and a room by two people, and a support access
    first = MembershipFactory.create(tenant=acme, role=Membership.Role.MANAGER).user
    second = MembershipFactory.create(tenant=acme, role=Membership.Role.MANAGER).user
    room = ResourceFactory.create(name="Room Cedar")
    _renamed(room, "Room Cedar 2", by=first)
    place = LocationFactory.create(name="Annex")
    with set_actor(second):
        place.name = "Annex 2"
        place.save()
    resource_type = ContentType.objects.get_for_model(Resource)

    def shown(**query: str) -> list:
        response = admin_client_acme.get(URL, query)
        assert response.status_code == 200
        return response.context["entries"]

    # a record kind: its entries only, support accesses left out
    rooms = shown(model=str(resource_type.pk))
    assert rooms and all(entry.what.startswith("Resource ·") for entry in rooms)
    choices = dict(admin_client_acme.get(URL).context["form"].fields["model"].choices)
    assert choices[resource_type.pk] == "Resource"
    assert ContentType.objects.get_for_model(Location).pk in choices
    # a person, whatever the case of the address
    assert [entry.what for entry in shown(actor=second.email.upper())] == ["Location · Annex 2"]
    # days, in the business's time zone
    today = dt.datetime.now(dt.UTC).date()
    assert shown(date_to=(today - dt.timedelta(days=2)).isoformat()) == []
    assert len(shown(date_from=(today - dt.timedelta(days=1)).isoformat())) >= 4
    # a filter that is not one is reported, not a 500
    bad = admin_client_acme.get(URL, {"date_from": "2026-02-31", "model": "nope"})
    assert bad.status_code == 400


def test_the_trail_is_paged_newest_first(acme, admin_client_acme):
    room = ResourceFactory.create(name="Room 0")
    actor = MembershipFactory.create(tenant=acme, role=Membership.Role.MANAGER).user
    for n in range(1, 31):
        _renamed(room, f"Room {n}", by=actor)
    resource_type = ContentType.objects.get_for_model(Resource)
    query = {"model": str(resource_type.pk), "actor": actor.email}

    first = admin_client_acme.get(URL, query)
    second = admin_client_acme.get(URL, {**query, "page": "2"})

    assert first.context["page"].paginator.count == 30
    names = [entry.changes[0].after for entry in first.context["entries"]]
    names += [entry.changes[0].after for entry in second.context["entries"]]
    assert names == [f"Room {n}" for n in range(30, 0, -1)]
    assert len(first.context["entries"]) == 25
    assert "page=2" in first.content.decode()


def test_another_business_trail_never_shows(acme, globex, admin_client_acme):
    with tenant_context(globex):
        ResourceFactory.create(name="Globex secret room")
        assert LogEntry.objects.filter(object_repr="Globex secret room").exists()

    page = admin_client_acme.get(URL)

    assert page.status_code == 200
    assert "Globex secret room" not in page.content.decode()
    outsider = Client(HTTP_HOST=HOST)
    outsider.force_login(MembershipFactory.create(tenant=globex, role="admin").user)
    assert outsider.get(URL).status_code == 404
