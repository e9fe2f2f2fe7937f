"""Plan allowances are enforced in the services, whichever door the request came in by:
the service layer, the API (402 PLAN_LIMIT with the figures and the upgrade URL), the
dashboard (the form keeps what was typed and says where to upgrade)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.accounts.middleware import tenant_routes_forget
from apps.accounts.models import Membership, Tenant
from apps.accounts.team import membership_invite
from apps.billing import plans
from apps.bookings.actors import ActorRef
from apps.bookings.models import Booking
from apps.bookings.services import CustomerInput, booking_confirm, booking_hold
from apps.core.entitlements import Limit, PlanLimitReached, usage
from apps.core.rate_limits import stricter_rate
from apps.notifications.messages.delivery import SendOutcome, notification_send
from apps.notifications.models import Notification
from apps.resources.models import Resource
from apps.resources.services import resource_create, resource_update
from tests.api.calls import error_of, key_client, rates, send_json
from tests.api.factories import LocationFactory, ResourceFactory, ServiceFactory, slots_create
from tests.plugins.factories import (
    MembershipFactory,
    UserFactory,
    member_client,
    verified_staff_client,
)

ACTOR = ActorRef(type="system", id="test")


def _on_plan(tenant: Tenant, code: str) -> Tenant:
    tenant.plan, tenant.status = code, Tenant.Status.ACTIVE
    tenant.save(update_fields=["plan", "status"])
    return tenant


@pytest.fixture
def tight(monkeypatch):
    """The Free plan with allowances small enough to reach in a test."""

    def tighten(**figures: Any) -> plans.Plan:
        plan = dataclasses.replace(plans.FREE, **figures)
        monkeypatch.setitem(plans.PLANS, "free", plan)
        return plan

    return tighten


def test_a_resource_over_the_plan_is_refused_and_one_within_it_is_not(acme):
    _on_plan(acme, "free")  # one active resource
    location = LocationFactory.create()
    first = resource_create(name="Dr Ada", location=location)

    with pytest.raises(PlanLimitReached) as refused:
        resource_create(name="Dr Grace", location=location)

    error = refused.value
    assert error.code == "PLAN_LIMIT" and error.http_status == 402
    details = {detail.field: detail.message for detail in error.details}
    assert details["limit"] == "resources"
    assert details["allowed"] == "1" and details["used"] == "1"
    assert details["upgrade_url"] == "http://acme.localhost/dashboard/billing/"
    # an inactive one costs nothing, and waking it up is counted like a new one
    asleep = resource_create(name="Room 2", location=location, is_active=False)
    with pytest.raises(PlanLimitReached):
        resource_update(resource=asleep, data={"is_active": True})
    resource_update(resource=first, data={"is_active": False})
    resource_update(resource=asleep, data={"is_active": True})
    assert Resource.objects.filter(is_active=True).count() == 1


def test_the_api_answers_402_plan_limit_with_the_figures_and_where_to_upgrade(
    acme, acme_host, settings
):
    settings.REST_FRAMEWORK = rates()
    _on_plan(acme, "free")
    client = key_client(acme_host, "admin")
    location = LocationFactory.create()
    ResourceFactory.create(location=location)

    response = send_json(
        client,
        "post",
        "/api/v1/admin/resources",
        {"name": "Dr Grace", "location": str(location.pk)},
    )

    assert response.status_code == 402
    error = error_of(response)
    assert error["code"] == "PLAN_LIMIT"
    details = {detail["field"]: detail["message"] for detail in error["details"]}
    assert details == {
        "limit": "resources",
        "allowed": "1",
        "used": "1",
        "upgrade_url": "http://acme.localhost/dashboard/billing/",
    }
    assert Resource.objects.count() == 1


def test_the_dashboard_keeps_what_was_typed_and_points_to_billing(acme, acme_host):
    _on_plan(acme, "free")
    location = LocationFactory.create()
    ResourceFactory.create(location=location)
    manager = MembershipFactory.create(tenant=acme, role=Membership.Role.MANAGER)
    client = member_client(manager, acme_host)

    response = client.post(
        reverse("dashboard:resource_create"),
        {"name": "Dr Grace", "kind": "person", "location": str(location.pk), "is_active": "on"},
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "The Free plan allows 1 active people and rooms" in page
    assert "Billing page" in page
    assert 'value="Dr Grace"' in page
    assert Resource.objects.count() == 1


def test_a_team_seat_over_the_plan_is_refused(acme, tight):
    tight(seats=1)
    _on_plan(acme, "free")
    owner = MembershipFactory.create(tenant=acme, role=Membership.Role.ADMIN)
    Membership.objects.filter(tenant=acme).exclude(pk=owner.pk).delete()

    with pytest.raises(PlanLimitReached) as refused:
        membership_invite(
            tenant=acme,
            email="new@acme.test",
            role=Membership.Role.FRONTDESK,
            invited_by=owner.user,
            base_url="http://acme.localhost",
        )

    assert {d.field: d.message for d in refused.value.details}["limit"] == "seats"
    assert not Membership.objects.filter(user__email="new@acme.test").exists()


def _bookable(count: int):
    location = LocationFactory.create()
    resource = ResourceFactory.create(location=location)
    service = ServiceFactory.create(resources=[resource])
    start = (timezone.now() + dt.timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    slots = slots_create(resource=resource, starts_at=start, count=count)
    return service, resource, [slot.starts_at for slot in slots]


def test_bookings_over_the_monthly_allowance_are_refused_and_lapsed_holds_do_not_count(acme, tight):
    tight(bookings_per_month=2)
    _on_plan(acme, "free")
    service, resource, starts = _bookable(4)

    def hold(at):
        return booking_hold(
            service=service,
            resource=resource,
            starts_at=at,
            customer=CustomerInput(name="Ann", email="ann@example.com"),
            actor=ACTOR,
        )

    first = hold(starts[0])
    hold(starts[1])
    with pytest.raises(PlanLimitReached):
        hold(starts[2])
    Booking.objects.filter(pk=first.pk).update(status=Booking.Status.EXPIRED, hold_expires_at=None)
    hold(starts[2])
    assert usage(Limit.BOOKINGS_PER_MONTH) == 2


def test_a_text_message_over_the_monthly_allowance_is_not_sent(acme, tight):
    tight(sms_per_month=0)
    _on_plan(acme, "free")
    service, resource, starts = _bookable(1)
    booking = booking_hold(
        service=service,
        resource=resource,
        starts_at=starts[0],
        customer=CustomerInput(name="Ann", email="ann@example.com", phone="+447911123456"),
        actor=ACTOR,
    )
    booking_confirm(booking=booking, actor=ACTOR)
    now = timezone.now()
    sms, _ = Notification.objects.get_or_create(
        booking=booking,
        kind=Notification.Kind.CONFIRMED,
        channel=Notification.Channel.SMS,
        offset_minutes=0,
        booking_sequence=0,
        defaults={"scheduled_for": now, "next_attempt_at": now},
    )

    assert notification_send(notification_id=sms.pk) == SendOutcome.CANCELLED

    sms.refresh_from_db()
    assert (sms.status, sms.status_reason) == (Notification.Status.CANCELLED, "plan_limit")


def test_each_plan_sets_its_keys_rate_under_the_configured_ceiling(acme, acme_host, settings):
    assert stricter_rate("1000/min", "100/min") == "100/min"
    assert stricter_rate("3/hour", "100/min") == "3/hour"
    assert stricter_rate(None, "100/min") == "100/min"
    settings.REST_FRAMEWORK = rates(api_key="1000/min")
    _on_plan(acme, "free")  # 100 a minute, as the contract says of the lowest plan
    client = key_client(acme_host, "readonly")

    answers = [client.get("/api/v1/services").status_code for _ in range(101)]

    assert answers[:100] == [200] * 100
    assert answers[100] == 429
    # the same key on a bigger plan is still within its rate
    _on_plan(acme, "starter")
    tenant_routes_forget()
    assert client.get("/api/v1/services").status_code == 200


def test_the_plan_rate_can_be_lifted_only_by_turning_plan_limits_off(acme, acme_host, settings):
    """The benchmark's one key sends hundreds of requests a second (config/settings/bench.py)."""
    settings.REST_FRAMEWORK = rates(api_key="1000/min")
    settings.API_RATE_PLAN_LIMITS = False
    _on_plan(acme, "free")
    client = key_client(acme_host, "readonly")

    answers = [client.get("/api/v1/services").status_code for _ in range(101)]

    assert answers == [200] * 101


def test_usage_counts_what_each_app_owns(acme):
    _on_plan(acme, "pro")
    location = LocationFactory.create()
    ResourceFactory.create(location=location)
    ResourceFactory.create(location=location, is_active=False)
    MembershipFactory.create(tenant=acme, user=UserFactory.create())

    assert usage(Limit.RESOURCES) == 1
    assert usage(Limit.SEATS) == Membership.objects.filter(tenant=acme).count()
    assert usage(Limit.BOOKINGS_PER_MONTH) == 0
    assert usage(Limit.SMS_PER_MONTH) == 0


def test_the_admin_refuses_a_resource_over_the_plan_with_a_form_error(acme, acme_host):
    _on_plan(acme, "free")
    location = LocationFactory.create()
    ResourceFactory.create(location=location)
    support = verified_staff_client(acme_host)

    response = support.post(
        "/admin/resources/resource/add/",
        {"name": "Dr Grace", "kind": "person", "location": str(location.pk), "is_active": "on"},
    )

    assert response.status_code == 200
    assert "The Free plan allows 1 active people and rooms" in response.content.decode()
    assert 'value="Dr Grace"' in response.content.decode()
    assert Resource.objects.count() == 1
