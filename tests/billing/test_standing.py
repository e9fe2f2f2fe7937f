"""A business's standing over time: the trial ends, an unpaid business is past due and
then suspended (booking pages and API off, staff still in, nothing lost), and paying
makes it active again. Every move is in the append-only plan history."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.db import IntegrityError, InternalError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.accounts.middleware import tenant_routes_forget
from apps.accounts.models import Membership, Tenant
from apps.billing.models import PlanChange
from apps.billing.plans import PRO, STARTER
from apps.billing.services import plan_free_choose, subscription_apply, tenants_lifecycle_check
from apps.bookings.access_tokens import booking_access_token
from apps.bookings.actors import ActorRef
from apps.bookings.services import CustomerInput, booking_confirm, booking_hold
from apps.core.entitlements import PlanInactive
from apps.core.errors import ValidationFailed
from apps.core.task_queue import task_named
from tests.api.calls import error_of, key_client, rates
from tests.api.factories import LocationFactory, ResourceFactory, ServiceFactory, slots_create
from tests.plugins.factories import MembershipFactory, member_client

ACTOR = ActorRef(type="system", id="test")


def _trial_ending(tenant: Tenant, *, ended_days_ago: int) -> Tenant:
    tenant.plan, tenant.status = "trial", Tenant.Status.TRIAL
    tenant.trial_ends_at = timezone.now() - dt.timedelta(days=ended_days_ago)
    tenant.past_due_since = None
    tenant.save(update_fields=["plan", "status", "trial_ends_at", "past_due_since"])
    return tenant


def _reload(tenant: Tenant) -> Tenant:
    tenant.refresh_from_db()
    tenant_routes_forget()
    return tenant


def test_a_new_business_tries_the_top_plan_for_the_trial_period(acme):
    from apps.accounts.services import tenant_create
    from tests.plugins.factories import UserFactory

    with transaction.atomic():
        tenant = tenant_create(slug="trying", name="Trying", owner=UserFactory.create())
    assert tenant.status == Tenant.Status.TRIAL and tenant.plan == "trial"
    left = tenant.trial_ends_at - timezone.now()
    assert dt.timedelta(days=settings.BILLING_TRIAL_DAYS - 1) < left
    assert left <= dt.timedelta(days=settings.BILLING_TRIAL_DAYS)


def test_a_trial_that_ends_within_the_free_plan_moves_to_free(acme):
    _trial_ending(acme, ended_days_ago=0)
    ResourceFactory.create(location=LocationFactory.create())  # Free allows one

    moved = tenants_lifecycle_check()

    _reload(acme)
    assert moved["free"] >= 1
    assert (acme.plan, acme.status) == ("free", Tenant.Status.ACTIVE)
    change = PlanChange.objects.get(tenant=acme)
    assert (change.from_plan, change.to_plan, change.cause) == ("trial", "free", "schedule")


def _bookable_catalogue():
    location = LocationFactory.create()
    ada = ResourceFactory.create(name="Ada", location=location)
    ResourceFactory.create(name="Grace", location=location)
    service = ServiceFactory.create(name="Check-up", resources=[ada])
    start = (timezone.now() + dt.timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    slots = slots_create(resource=ada, starts_at=start, count=4)
    return service, ada, [slot.starts_at for slot in slots]


def test_unpaid_past_the_grace_period_suspends_and_paying_reopens(acme, acme_host, settings):
    settings.REST_FRAMEWORK = rates()
    service, ada, starts = _bookable_catalogue()  # two people: over the Free plan
    booked = booking_hold(
        service=service,
        resource=ada,
        starts_at=starts[0],
        customer=CustomerInput(name="Ann", email="ann@example.com"),
        actor=ACTOR,
    )
    booking_confirm(booking=booked, actor=ACTOR)
    _trial_ending(acme, ended_days_ago=settings.BILLING_GRACE_DAYS - 1)

    # the trial ends over the Free plan: past due, counting from the trial's end
    tenants_lifecycle_check()
    _reload(acme)
    assert acme.status == Tenant.Status.PAST_DUE
    assert acme.past_due_since == acme.trial_ends_at
    customer = Client(HTTP_HOST=acme_host)
    assert customer.get("/").status_code == 200  # still open while in grace

    # a day later the grace period is over: suspended
    tenants_lifecycle_check(now=timezone.now() + dt.timedelta(days=1, minutes=1))
    _reload(acme)
    assert acme.status == Tenant.Status.SUSPENDED

    home = customer.get("/")
    assert home.status_code == 503
    assert "temporarily not taking bookings online" in home.content.decode()
    assert "plan" not in home.content.decode().lower()
    when = customer.get(reverse("booking:who", args=[service.pk]))
    assert when.status_code == 503
    # an existing booking stays reachable from the customer's link
    token = booking_access_token(booking_id=booked.pk)
    assert customer.get(reverse("booking:manage", args=[token])).status_code == 200
    # the API is off with its own code, reads included
    api = key_client(acme_host, "admin")
    answer = api.get("/api/v1/services")
    assert answer.status_code == 402 and error_of(answer)["code"] == "PLAN_INACTIVE"
    # the service layer refuses a new booking whatever the door
    with pytest.raises(PlanInactive):
        booking_hold(
            service=service,
            resource=ada,
            starts_at=starts[1],
            customer=CustomerInput(name="Bo", email="bo@example.com"),
            actor=ACTOR,
        )
    # staff still sign in and see everything, with the way to pay
    admin = MembershipFactory.create(tenant=acme, role=Membership.Role.ADMIN)
    staff = member_client(admin, acme_host)
    dashboard = staff.get(reverse("dashboard:bookings"))
    assert dashboard.status_code == 200
    assert "This business is suspended" in dashboard.content.decode()
    assert staff.get(reverse("dashboard:billing")).status_code == 200

    # paying (Stripe says the subscription is active) reopens everything
    subscription_apply(tenant=acme, plan=STARTER, subscription_status="active", event_id="evt_paid")
    _reload(acme)
    assert (acme.plan, acme.status, acme.past_due_since) == ("starter", "active", None)
    assert customer.get("/").status_code == 200
    assert api.get("/api/v1/services").status_code == 200
    causes = list(
        PlanChange.objects.filter(tenant=acme)
        .order_by("created_at")
        .values_list("to_status", "cause")
    )
    assert causes == [("past_due", "schedule"), ("suspended", "schedule"), ("active", "stripe")]


def test_a_failed_payment_is_past_due_and_a_suspended_business_stays_so_until_paid(acme):
    acme.plan, acme.status = "pro", Tenant.Status.ACTIVE
    acme.save(update_fields=["plan", "status"])

    subscription_apply(tenant=acme, plan=PRO, subscription_status="past_due", event_id="evt_1")
    _reload(acme)
    assert acme.status == Tenant.Status.PAST_DUE and acme.past_due_since is not None

    acme.status = Tenant.Status.SUSPENDED
    acme.save(update_fields=["status"])
    subscription_apply(tenant=acme, plan=PRO, subscription_status="past_due", event_id="evt_2")
    assert _reload(acme).status == Tenant.Status.SUSPENDED

    subscription_apply(tenant=acme, plan=PRO, subscription_status="active", event_id="evt_3")
    assert _reload(acme).status == Tenant.Status.ACTIVE


def test_a_cancelled_subscription_falls_back_to_free_only_when_the_business_fits(acme):
    acme.plan, acme.status = "starter", Tenant.Status.ACTIVE
    acme.save(update_fields=["plan", "status"])
    location = LocationFactory.create()
    ResourceFactory.create(location=location)
    second = ResourceFactory.create(location=location)

    subscription_apply(tenant=acme, plan=STARTER, subscription_status="canceled", event_id="e1")
    assert (_reload(acme).plan, acme.status) == ("free", Tenant.Status.PAST_DUE)

    second.is_active = False
    second.save(update_fields=["is_active"])
    subscription_apply(tenant=acme, plan=STARTER, subscription_status="active", event_id="e2")
    subscription_apply(tenant=acme, plan=STARTER, subscription_status="canceled", event_id="e3")
    assert (_reload(acme).plan, acme.status) == ("free", Tenant.Status.ACTIVE)


def test_moving_down_to_free_is_refused_with_what_to_remove(acme, acme_host):
    acme.plan, acme.status = "starter", Tenant.Status.ACTIVE
    acme.save(update_fields=["plan", "status"])
    location = LocationFactory.create()
    for name in ("Ada", "Grace", "Room 1"):
        ResourceFactory.create(name=name, location=location)

    with pytest.raises(ValidationFailed) as refused:
        plan_free_choose(tenant=acme, actor="owner@acme.test")
    messages = {detail.field: detail.message for detail in refused.value.details}
    assert "remove 2 of the 3" in messages["resources"]
    assert _reload(acme).plan == "starter"

    admin = MembershipFactory.create(tenant=acme, role=Membership.Role.ADMIN)
    response = member_client(admin, acme_host).post(reverse("dashboard:billing_choose_free"))
    assert response.status_code == 409
    assert "remove 2 of the 3" in response.content.decode()
    assert _reload(acme).plan == "starter"
    assert not PlanChange.objects.filter(tenant=acme).exists()


def test_the_billing_page_shows_usage_against_the_plan_to_admins_only(acme, acme_host):
    acme.plan, acme.status = "starter", Tenant.Status.ACTIVE
    acme.save(update_fields=["plan", "status"])
    ResourceFactory.create(location=LocationFactory.create())
    admin = MembershipFactory.create(tenant=acme, role=Membership.Role.ADMIN)
    manager = MembershipFactory.create(tenant=acme, role=Membership.Role.MANAGER)

    page = member_client(admin, acme_host).get(reverse("dashboard:billing"))

    assert page.status_code == 200
    html = page.content.decode()
    assert "Starter plan" in html
    assert "1 of 5" in html  # active people and rooms
    assert '<progress max="100" value="20"' in html
    assert "Current plan" in html
    forbidden = member_client(manager, acme_host).get(reverse("dashboard:billing"))
    assert forbidden.status_code == 403


def test_the_plan_history_cannot_be_rewritten(acme):
    acme.plan, acme.status = "starter", Tenant.Status.ACTIVE
    acme.save(update_fields=["plan", "status"])
    subscription_apply(tenant=acme, plan=STARTER, subscription_status="past_due", event_id="e1")

    for statement in (
        "UPDATE billing_planchange SET to_status = 'active'",
        "DELETE FROM billing_planchange",
    ):
        with (
            pytest.raises((InternalError, IntegrityError)),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(f"SET search_path TO public; {statement}")
    assert PlanChange.objects.get(tenant=acme).to_status == "past_due"


def test_the_daily_check_is_scheduled_and_registered(db):
    entry = settings.CELERY_BEAT_SCHEDULE["billing-lifecycle"]
    assert entry["task"] == "billing.lifecycle_check"
    assert task_named("billing.lifecycle_check").name == "billing.lifecycle_check"
