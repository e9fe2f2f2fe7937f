"""Every dashboard screen: who may see it (roles nest admin > manager > scheduler > front
desk), what a non-member and a visitor get, full page versus htmx partial, and that
another tenant's ids are 404."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django_tenants.utils import tenant_context

from apps.accounts.models import Membership
from apps.resources.intake import question_create
from tests.dashboard.factories import (
    LocationFactory,
    ResourceFactory,
    ServiceFactory,
    WeeklyRuleFactory,
    booking_made,
    local_at,
)
from tests.dashboard.screens import HOST, RANK, ROLES, SCREENS, screen_url
from tests.plugins.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "minimum", "text", "key"), SCREENS)
def test_screen_is_shown_to_roles_from_its_minimum_and_refused_below(
    client_as, ids, role, name, minimum, text, key
):
    # given a member with `role`
    client = client_as(role)

    # when they open the screen
    response = client.get(screen_url(name, key, ids))

    # then it is theirs from the screen's minimum role up, and 403 below it
    if RANK[role] >= RANK[minimum]:
        assert response.status_code == 200, response.content.decode()[:500]
        assert text in response.content.decode()
    else:
        assert response.status_code == 403


@pytest.mark.parametrize(("name", "minimum", "text", "key"), SCREENS)
def test_screen_answers_htmx_with_its_partial_and_a_visit_with_the_page(
    admin_client_acme, ids, name, minimum, text, key
):
    url = screen_url(name, key, ids)

    full = admin_client_acme.get(url)
    partial = admin_client_acme.get(url, HTTP_HX_REQUEST="true")
    restore = admin_client_acme.get(
        url, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )

    assert full.status_code == partial.status_code == restore.status_code == 200
    assert "<html" in full.content.decode()
    assert 'aria-label="Dashboard"' in full.content.decode()
    assert "<html" not in partial.content.decode()
    assert text in partial.content.decode()
    # A history restore after a cache miss swaps in the whole page.
    assert "<html" in restore.content.decode()


@pytest.mark.parametrize(("name", "minimum", "text", "key"), SCREENS)
def test_screen_sends_visitors_to_log_in_and_answers_404_to_other_businesses_staff(
    acme, globex, ids, name, minimum, text, key
):
    url = screen_url(name, key, ids)
    visitor = Client(HTTP_HOST=HOST)
    outsider = Client(HTTP_HOST=HOST)
    outsider.force_login(MembershipFactory.create(tenant=globex, role="admin").user)

    to_login = visitor.get(url)
    foreign = outsider.get(url)

    assert to_login.status_code == 302
    assert to_login["Location"].startswith("/accounts/login/")
    assert foreign.status_code == 404


def test_a_person_without_any_membership_gets_404(acme, ids):
    client = Client(HTTP_HOST=HOST)
    client.force_login(UserFactory.create())

    assert client.get(reverse("dashboard:calendar")).status_code == 404


@pytest.fixture
def globex_ids(globex) -> dict[str, str]:
    """The same kinds of rows, but in globex's schema."""
    with tenant_context(globex):
        location = LocationFactory.create(timezone="America/New_York")
        resource = ResourceFactory.create(location=location)
        service = ServiceFactory.create(resources=[resource])
        booking = booking_made(
            service=service, resource=resource, starts_at=local_at(location, days=3, hour=10)
        )
        rule = WeeklyRuleFactory.create(resource=resource)
        return {
            "booking_id": str(booking.pk),
            "rule_id": str(rule.pk),
            "location_id": str(location.pk),
            "resource_id": str(resource.pk),
            "service_id": str(service.pk),
            "customer_id": str(booking.customer_id),
            "question_id": str(
                question_create(service=service, kind="short_text", label="Allergies?").pk
            ),
        }


@pytest.mark.parametrize(
    ("name", "key"), [(name, key) for name, _, _, key in SCREENS if key is not None]
)
def test_another_businesss_ids_are_404(admin_client_acme, acme, globex_ids, name, key):
    response = admin_client_acme.get(screen_url(name, key, globex_ids))

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("name", "key", "minimum"),
    [
        ("dashboard:booking_confirm", "booking_id", "frontdesk"),
        ("dashboard:booking_cancel", "booking_id", "frontdesk"),
        ("dashboard:booking_completed", "booking_id", "frontdesk"),
        ("dashboard:booking_no_show", "booking_id", "frontdesk"),
        ("dashboard:booking_reschedule", "booking_id", "frontdesk"),
        ("dashboard:rule_create", None, "scheduler"),
        ("dashboard:rule_edit", "rule_id", "scheduler"),
        ("dashboard:rule_delete", "rule_id", "scheduler"),
        ("dashboard:location_create", None, "manager"),
        ("dashboard:location_edit", "location_id", "manager"),
        ("dashboard:resource_create", None, "manager"),
        ("dashboard:resource_edit", "resource_id", "manager"),
        ("dashboard:service_create", None, "manager"),
        ("dashboard:service_edit", "service_id", "manager"),
        ("dashboard:calendar_feeds", "resource_id", "manager"),
    ],
)
def test_changes_are_refused_to_roles_below_the_minimum(client_as, ids, name, key, minimum):
    for role in ROLES:
        if RANK[role] >= RANK[minimum]:
            continue
        response = client_as(role).post(screen_url(name, key, ids), {"reason": "x", "name": "x"})
        assert response.status_code == 403, (role, name)


@pytest.mark.parametrize(
    "name", ["dashboard:booking_confirm", "dashboard:booking_cancel", "dashboard:rule_delete"]
)
def test_actions_do_not_answer_get(admin_client_acme, ids, name):
    key = "rule_id" if name == "dashboard:rule_delete" else "booking_id"

    assert admin_client_acme.get(screen_url(name, key, ids)).status_code == 405


def test_navigation_lists_only_the_sections_of_the_role(client_as, ids):
    frontdesk = client_as(Membership.Role.FRONTDESK).get(reverse("dashboard:home"))
    manager = client_as(Membership.Role.MANAGER).get(reverse("dashboard:home"))

    front_nav = frontdesk.content.decode().split('aria-label="Dashboard"')[1].split("</nav>")[0]
    manager_nav = manager.content.decode().split('aria-label="Dashboard"')[1].split("</nav>")[0]
    assert ">Calendar<" in front_nav and ">Bookings<" in front_nav
    assert ">Availability<" not in front_nav
    assert ">Services &amp; resources<" not in front_nav
    assert ">Availability<" in manager_nav and ">Services &amp; resources<" in manager_nav
    assert ">Settings<" not in manager_nav


def test_a_screen_inside_a_section_keeps_the_section_current(admin_client_acme, ids):
    detail = admin_client_acme.get(
        reverse("dashboard:booking", kwargs={"booking_id": ids["booking_id"]})
    )
    today = admin_client_acme.get(reverse("dashboard:home"))

    assert (
        '<a href="/dashboard/bookings/" aria-current="page">Bookings</a>' in detail.content.decode()
    )
    assert '<a href="/dashboard/" aria-current="page">Today</a>' not in detail.content.decode()
    assert '<a href="/dashboard/" aria-current="page">Today</a>' in today.content.decode()
