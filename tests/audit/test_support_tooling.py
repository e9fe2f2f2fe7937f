"""Support's tools in the platform admin: the tenant overview and a business's page, raw
payment-provider records for superusers only, the cross-tenant look-up (always with a
reason, audited without the address in clear), entering a tenant's admin with a reason,
suspending and reactivating a business, and the platform's audit viewers."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from apps.accounts.middleware import tenant_routes_forget
from apps.accounts.models import Membership, Tenant, User
from apps.audit.models import SupportAccess
from apps.billing.models import PlanChange
from apps.billing.plans import STARTER
from apps.billing.services import (
    plan_free_choose,
    plan_usage,
    subscription_apply,
    tenant_reactivate,
    tenant_suspend,
    tenants_lifecycle_check,
)
from apps.bookings import pii
from apps.bookings.models import Booking
from apps.core.entitlements import Limit
from apps.core.errors import ValidationFailed
from apps.notifications.models import Notification
from apps.resources.models import Resource
from tests.api.calls import error_of, key_client
from tests.notifications.factories import BookingFactory, CustomerFactory, ResourceFactory
from tests.plugins.factories import (
    MembershipFactory,
    TenantFactory,
    UserFactory,
    member_client,
    signed_in_with_mfa,
    verified_staff_client,
)

pytestmark = pytest.mark.django_db

ROOT = "localhost"
LOOKUP = "/admin/support/look-up/"
CHANGELIST = "/admin/accounts/tenant/"


def _staff(*, superuser: bool = False, permissions: list[str] | None = None) -> tuple[User, Client]:
    """A support agent on the root domain who passed the second factor; without
    `superuser`, holding only `permissions` ("app_label.codename")."""
    user = UserFactory.create(is_staff=True, is_superuser=superuser)
    # Permissions name the platform's content types (a tenant's schema has its own).
    with schema_context("public"):
        for label in permissions or []:
            app_label, codename = label.split(".")
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
    client = Client(HTTP_HOST=ROOT)
    signed_in_with_mfa(client, user)
    return user, client


def _row(response: Any, slug: str) -> Any:
    (row,) = [row for row in response.context["rows"] if row.tenant.slug == slug]
    return row


def _failed_message(*, days_ago: int = 0) -> Notification:
    booking = BookingFactory.create()
    notification = Notification.objects.create(
        booking=booking,
        kind=Notification.Kind.CONFIRMED,
        channel=Notification.Channel.EMAIL,
        scheduled_for=timezone.now(),
        next_attempt_at=timezone.now(),
    )
    Notification.objects.filter(pk=notification.pk).update(
        status=Notification.Status.FAILED,
        updated_at=timezone.now() - dt.timedelta(days=days_ago),
    )
    return notification


def _public_trail(**filters: Any) -> list[SupportAccess]:
    with schema_context("public"):
        return list(SupportAccess.objects.filter(**filters).order_by("created_at"))


# --- The overview --------------------------------------------------------------------


def test_the_root_admin_opens_on_the_overview_with_plan_status_usage_and_activity(acme):
    # given acme with two active resources, one retired, bookings made now and long ago,
    # a message that failed today and one that failed two weeks ago
    ResourceFactory.create_batch(2)
    ResourceFactory.create(is_active=False)
    recent = BookingFactory.create()
    old = BookingFactory.create()
    BookingFactory.create(status="expired")  # a lapsed hold is no booking
    _failed_message()
    _failed_message(days_ago=14)
    Booking.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=40))
    _, agent = _staff(superuser=True)

    # when support opens the platform admin
    response = agent.get("/admin/")

    # then acme's row has its plan, standing, usage against the plan and activity
    assert response.status_code == 200
    row = _row(response, "acme")
    assert (str(row.plan.name), row.tenant.status) == ("Pro", "trial")
    used = {line.limit: (line.used, line.allowed) for line in row.usage}
    with tenant_context(acme):  # the request left the connection on the platform's schema
        active = Resource.objects.filter(is_active=True).count()
        assert active == Resource.objects.count() - 1
        made = Booking.objects.exclude(status="expired").count()
    assert used[Limit.RESOURCES] == (active, 50)
    assert used[Limit.SEATS] == (Membership.objects.filter(tenant=acme).count(), 25)
    assert row.bookings_recent == made - 1
    assert row.failed_messages_recent == 1
    assert row.last_support_access is None
    # the overview counts as the plan does (its one-statement reads and the counters agree)
    assert [(line.limit, line.used) for line in row.usage] == [
        (line.limit, line.used) for line in plan_usage(tenant=acme)
    ]
    assert recent.pk  # made just now: counted above
    body = response.content.decode()
    assert "Acme Clinic" in body and "globex" in body
    assert 'href="/admin/support/look-up/"' in body
    # the usual records are still listed below (the businesses' list among them)
    assert 'href="/admin/accounts/tenant/"' in body


def test_the_overview_finds_businesses_by_slug_name_or_domain_and_filters(acme, globex):
    _, agent = _staff(superuser=True)
    Tenant.objects.filter(pk=globex.pk).update(status=Tenant.Status.SUSPENDED, plan="starter")

    def slugs(**query: str) -> list[str]:
        response = agent.get("/admin/", query)
        assert response.status_code == 200
        return [row.tenant.slug for row in response.context["rows"]]

    assert "public" not in slugs()
    assert slugs(q="glob") == ["globex"]
    assert slugs(q="Acme Cl") == ["acme"]
    assert slugs(q="acme.localhost") == ["acme"]
    assert slugs(status="suspended") == ["globex"]
    assert slugs(plan="starter") == ["globex"]
    assert "acme" in slugs(plan="trial") and "globex" not in slugs(plan="trial")


def test_the_overview_costs_one_statement_per_business_on_the_page(acme):
    _, agent = _staff(superuser=True)

    def measured() -> tuple[int, int, int]:
        agent.get("/admin/")  # warm: the host's routing, content types, permissions
        with CaptureQueriesContext(connection) as captured:
            response = agent.get("/admin/")
        assert response.status_code == 200
        statements = [query["sql"] for query in captured]
        switches = sum(1 for sql in statements if sql.startswith("SET search_path"))
        return len(response.context["rows"]), len(statements) - switches, switches

    # given the page with the businesses there are, then two more
    rows_before, queries_before, switches_before = measured()
    TenantFactory.create(slug="counted1")
    TenantFactory.create(slug="counted2")
    rows_after, queries_after, switches_after = measured()

    # then each business added one statement and at most one schema switch
    assert rows_after == rows_before + 2
    assert queries_after - queries_before == 2
    assert switches_after - switches_before <= 2 * 2


def test_the_overview_pages_25_businesses_at_a_time(acme):
    _, agent = _staff(superuser=True)
    total = Tenant.objects.exclude(schema_name="public").count()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("apps.support.views.TENANTS_PER_PAGE", 1)
        first = agent.get("/admin/")
        second = agent.get("/admin/", {"page": "2"})
    assert len(first.context["rows"]) == len(second.context["rows"]) == 1
    assert first.context["page"].paginator.num_pages == total
    assert first.context["rows"][0].tenant != second.context["rows"][0].tenant
    from apps.support.selectors import TENANTS_PER_PAGE

    assert TENANTS_PER_PAGE == 25


def test_a_business_page_shows_its_bookings_without_customers_and_its_accesses(acme, acme_host):
    # given a booking of a customer whose details must not show, and an agent who
    # entered acme's admin with a reason
    booking = BookingFactory.create(
        service__name="Deep clean",
        customer=CustomerFactory.create(name="Zed Secretname", email="zed.secret@clinic.test"),
    )
    tenant_agent = verified_staff_client(acme_host, email="looked@timenest.test")
    assert tenant_agent.get("/admin/").status_code == 200
    _, agent = _staff(superuser=True)

    page = agent.get(f"/admin/support/tenants/{acme.pk}/")

    assert page.status_code == 200
    body = page.content.decode()
    detail = page.context["detail"]
    assert [b.id for b in detail.bookings] == [booking.pk]
    assert "Deep clean" in body and "Confirmed" in body
    assert "Zed Secretname" not in body
    assert "zed.secret" not in body and "z***@c***.test" not in body
    assert f"/admin/bookings/booking/{booking.pk}/change/" in body
    assert "looked@timenest.test" in body
    assert detail.row.last_support_access is not None
    assert agent.get(f"/admin/support/tenants/{uuid.uuid4()}/").status_code == 404


def test_staff_without_permission_on_businesses_get_the_plain_index_and_no_pages():
    _, agent = _staff()

    index = agent.get("/admin/")

    assert index.status_code == 200
    assert "rows" not in index.context
    assert agent.get(LOOKUP).status_code == 403
    acme = Tenant.objects.get(slug="acme")
    assert agent.get(f"/admin/support/tenants/{acme.pk}/").status_code == 403


# --- Raw payment-provider records ----------------------------------------------------


def _every_permission_of(app_label: str) -> list[str]:
    with schema_context("public"):
        codenames = Permission.objects.filter(content_type__app_label=app_label).values_list(
            "codename", flat=True
        )
        return [f"{app_label}.{codename}" for codename in codenames]


def test_payment_provider_records_are_for_superusers_only():
    # given an agent holding every permission on dj-stripe's and billing's records, but
    # not a superuser
    _, agent = _staff(
        permissions=[
            *_every_permission_of("djstripe"),
            *_every_permission_of("billing"),
            "accounts.view_tenant",
        ]
    )
    _, superuser = _staff(superuser=True)

    # then dj-stripe is not in their index or sidebar, and its pages refuse them
    index = agent.get("/admin/").content.decode()
    assert "/admin/djstripe/" not in index
    assert "/admin/billing/stripeevent/" not in index
    assert "/admin/billing/planchange/" in index  # the plan history is not raw provider data
    for path in [
        "/admin/djstripe/customer/",
        "/admin/djstripe/subscription/",
        "/admin/djstripe/customer/add/",
        "/admin/djstripe/customer/action/_sync_all_instances/customer/",
        "/admin/billing/stripeevent/",
    ]:
        assert agent.get(path).status_code == 403, path
    assert (
        agent.post("/admin/djstripe/customer/action/_sync_all_instances/customer/", {}).status_code
        == 403
    )
    assert agent.get("/admin/djstripe/").status_code == 404
    # while a superuser reaches them
    assert "/admin/djstripe/customer/" in superuser.get("/admin/").content.decode()
    assert superuser.get("/admin/djstripe/customer/").status_code == 200
    assert superuser.get("/admin/billing/stripeevent/").status_code == 200


# --- Look-ups across businesses ------------------------------------------------------


def test_a_booking_is_looked_up_by_id_across_businesses_and_the_look_up_audited(acme, globex):
    booking = BookingFactory.create()
    with tenant_context(globex):
        BookingFactory.create()  # another business's booking: not found
    user, agent = _staff(permissions=["accounts.view_tenant"])

    answer = agent.post(LOOKUP, {"query": str(booking.pk), "reason": "Ticket 4411"})

    assert answer.status_code == 200
    (match,) = answer.context["matches"]
    assert (match.tenant.slug, match.kind, match.object_id, match.status) == (
        "acme",
        "booking",
        booking.pk,
        "confirmed",
    )
    assert match.admin_url == f"http://acme.localhost/admin/bookings/booking/{booking.pk}/change/"
    assert match.admin_url in answer.content.decode()
    (access,) = _public_trail(user_id=user.pk, method="POST")
    assert (access.path, access.reason) == (LOOKUP, "Ticket 4411")
    assert access.details["lookup"] == "booking_id"
    assert access.details["query"] == str(booking.pk)
    assert access.details["found"] == [{"tenant": "acme", "kind": "booking", "id": str(booking.pk)}]
    # an id nobody has finds nothing (and is kept as asked)
    none = agent.post(LOOKUP, {"query": str(uuid.uuid4()), "reason": "Ticket 4412"})
    assert none.context["matches"] == []


def test_a_customer_is_looked_up_by_exact_email_without_the_address_in_the_trail(
    acme, globex, caplog
):
    # given the same person as a customer of acme and of globex, and someone else
    address = "Mary.Unique+spa@Example.test"
    at_acme = CustomerFactory.create(email=address.lower())
    BookingFactory.create_batch(2, customer=at_acme)
    with tenant_context(globex):
        at_globex = CustomerFactory.create(email=address.lower())
    CustomerFactory.create(email="mary.other@example.test")
    user, agent = _staff(permissions=["accounts.view_tenant"])

    # when support looks the address up (typed differently), saying why
    with caplog.at_level(logging.DEBUG):
        answer = agent.post(LOOKUP, {"query": f"  {address} ", "reason": "GDPR request #9"})

    # then both businesses' customers are found, each with a link into its admin
    assert answer.status_code == 200
    found = {(m.tenant.slug, m.object_id, m.bookings) for m in answer.context["matches"]}
    assert found == {("acme", at_acme.pk, 2), ("globex", at_globex.pk, 0)}
    assert f"http://globex.localhost/admin/bookings/customer/{at_globex.pk}/change/" in (
        answer.content.decode()
    )
    # and the trail keeps the reason, the kind, the hash and a masked form: never the address
    (access,) = _public_trail(user_id=user.pk, method="POST")
    assert access.reason == "GDPR request #9"
    assert access.details["lookup"] == "customer_email"
    assert access.details["query_hash"] == pii.lookup_hash(address.lower())
    assert access.details["query_masked"] == "m***@e***.test"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM public.audit_supportaccess WHERE lower(concat_ws(' ', path, "
            "reason, details::text, user_agent)) LIKE %s",
            ["%mary.unique%"],
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute(
            "SELECT count(*) FROM public.auditlog_logentry WHERE lower(concat_ws(' ', "
            "changes::text, object_repr, additional_data::text)) LIKE %s",
            ["%mary.unique%"],
        )
        assert cursor.fetchone()[0] == 0
    assert "mary.unique" not in caplog.text.lower()


def test_a_look_up_reads_hundreds_of_businesses_per_statement(acme, globex, monkeypatch):
    with tenant_context(globex):
        booking = BookingFactory.create()
    _, agent = _staff(permissions=["accounts.view_tenant"])
    businesses = Tenant.objects.filter(is_ready=True).exclude(schema_name="public").count()

    def look_up() -> tuple[list[str], int]:
        agent.get(LOOKUP)  # warm
        with CaptureQueriesContext(connection) as captured:
            answer = agent.post(LOOKUP, {"query": str(booking.pk), "reason": "Ticket 9"})
        statements = sum(
            1
            for query in captured
            if "UNION ALL" in query["sql"]
            or ("bookings_booking" in query["sql"] and "schema_name" in query["sql"])
        )
        return [match.tenant.slug for match in answer.context["matches"]], statements

    assert look_up() == (["globex"], 1)
    monkeypatch.setattr("apps.support.selectors.LOOKUP_SCHEMAS_PER_STATEMENT", 1)
    assert look_up() == (["globex"], businesses)


def test_a_look_up_is_refused_without_a_reason_and_does_not_search(acme):
    booking = BookingFactory.create()
    user, agent = _staff(permissions=["accounts.view_tenant"])

    for reason in ["", "   "]:
        answer = agent.post(LOOKUP, {"query": str(booking.pk), "reason": reason})
        assert answer.status_code == 400
        assert answer.context["matches"] is None
        assert "This field is required" in answer.content.decode()
    refused = agent.post(LOOKUP, {"query": "not-an-id", "reason": "Ticket 1"})
    assert refused.status_code == 400
    assert "booking id" in refused.content.decode()

    # the attempts are accesses, but no look-up was made
    assert all(not access.details for access in _public_trail(user_id=user.pk))


def test_a_look_up_asked_in_the_address_bar_keeps_no_query_in_the_trail(acme):
    user, agent = _staff(permissions=["accounts.view_tenant"])

    page = agent.get(LOOKUP, {"query": "someone@example.test"})

    assert page.status_code == 200
    assert page.context["matches"] is None  # only a POST with a reason looks anything up
    (access,) = _public_trail(user_id=user.pk)
    assert access.path == LOOKUP


def test_entering_a_business_admin_from_a_look_up_asks_a_reason_once_and_keeps_it(
    acme, acme_host, globex_host
):
    # given an agent who found a booking and follows the link into acme's admin
    booking = BookingFactory.create()
    agent = UserFactory.create(email="enterer@timenest.test", is_staff=True, is_superuser=True)
    _, root = _staff(superuser=True)
    link = (
        root.post(LOOKUP, {"query": str(booking.pk), "reason": "Ticket 7"})
        .context["matches"][0]
        .admin_url
    )
    path = link.removeprefix("http://acme.localhost")
    client = Client(HTTP_HOST=acme_host)
    signed_in_with_mfa(client, agent)

    # when they open it, the admin asks why first (nothing of the business shown)
    asked = client.get(path)
    assert asked.status_code == 302
    assert asked["Location"].startswith("/admin/support-reason/?next=")
    form = client.get(asked["Location"])
    assert form.status_code == 200 and "Why are you opening" in form.content.decode()
    # an empty reason lets nobody in
    empty = client.post("/admin/support-reason/", {"reason": " ", "next": path})
    assert empty.status_code == 200
    assert client.get(path).status_code == 302

    # with a reason, the page opens, and so does the rest of the admin without asking again
    given = client.post(
        "/admin/support-reason/", {"reason": "Ticket 7: double charge", "next": path}
    )
    assert given.status_code == 302 and given["Location"] == path
    assert client.get(path).status_code == 200
    assert client.get("/admin/bookings/customer/").status_code == 200

    # then acme's own trail keeps the reason with the agent; the gate itself was no access
    with schema_context("t_acme"):
        trail = list(SupportAccess.objects.filter(user_id=agent.pk).order_by("created_at"))
    assert [(a.method, a.path.split("?")[0], a.reason) for a in trail] == [
        ("GET", "/admin/support-reason/", ""),
        ("POST", "/admin/support-reason/", ""),
        ("POST", "/admin/support-reason/", "Ticket 7: double charge"),
        ("GET", path, ""),
        ("GET", "/admin/bookings/customer/", ""),
    ]
    # and another business's admin asks again
    other = Client(HTTP_HOST=globex_host)
    signed_in_with_mfa(other, agent)
    assert other.get("/admin/").status_code == 302


def test_a_search_in_a_business_admin_keeps_no_address_or_phone_in_its_trail(acme, acme_host):
    agent = verified_staff_client(acme_host, email="searcher@timenest.test")

    for term in ["Jo.Smith@Example.test", "+44 7911 123489", "smith"]:
        assert agent.get("/admin/bookings/customer/", {"q": term}).status_code == 200

    with schema_context("t_acme"):
        paths = list(
            SupportAccess.objects.filter(user_email="searcher@timenest.test")
            .order_by("created_at")
            .values_list("path", flat=True)
        )
    assert paths == [
        "/admin/bookings/customer/?q=J%2A%2A%2A%40E%2A%2A%2A.test",
        "/admin/bookings/customer/?q=%2B44%2A%2A%2A%2A%2A%2A%2A%2A89",
        "/admin/bookings/customer/?q=smith",
    ]


def test_the_reason_form_only_returns_to_this_admin(acme, acme_host):
    agent = UserFactory.create(is_staff=True, is_superuser=True)
    client = Client(HTTP_HOST=acme_host)
    signed_in_with_mfa(client, agent)

    answer = client.post(
        "/admin/support-reason/", {"reason": "Ticket 8", "next": "https://evil.example/admin/"}
    )

    assert answer.status_code == 302 and answer["Location"] == "/admin/"


# --- Suspend and reactivate ----------------------------------------------------------


def _suspend(agent: Client, tenant: Tenant, reason: str):
    return agent.post(f"/admin/support/tenants/{tenant.pk}/suspend/", {"suspend-reason": reason})


def _reactivate(agent: Client, tenant: Tenant, reason: str):
    return agent.post(
        f"/admin/support/tenants/{tenant.pk}/reactivate/", {"reactivate-reason": reason}
    )


def _support_entries(tenant: Tenant) -> list[LogEntry]:
    with schema_context("public"):
        return list(
            LogEntry.objects.filter(
                content_type=ContentType.objects.get_for_model(Tenant),
                object_pk=str(tenant.pk),
                additional_data__event__in=["tenant.suspended", "tenant.reactivated"],
            )
            .select_related("actor")
            .order_by("timestamp")
        )


def test_support_suspends_a_business_with_a_reason_and_it_stops_taking_bookings(acme, acme_host):
    # given acme taking bookings, and an agent who may change businesses
    api = key_client(acme_host, "admin")
    staff = MembershipFactory.create(tenant=acme)
    user, agent = _staff(permissions=["accounts.view_tenant", "accounts.change_tenant"])

    # when the agent suspends it from its page, saying why
    done = _suspend(agent, acme, "Chargeback fraud, ticket 31")

    # then it is suspended by support
    assert done.status_code == 302
    acme.refresh_from_db()
    tenant_routes_forget()
    assert acme.status == Tenant.Status.SUSPENDED
    assert acme.support_suspended_reason == "Chargeback fraud, ticket 31"
    # its booking pages answer 503 and its API 402 PLAN_INACTIVE, saying support did it
    assert Client(HTTP_HOST=acme_host).get("/").status_code == 503
    answer = api.get("/api/v1/services")
    assert answer.status_code == 402
    assert error_of(answer)["code"] == "PLAN_INACTIVE"
    assert "support" in error_of(answer)["message"]
    # its staff still sign in, and are told who suspended it
    bookings = member_client(staff, acme_host).get("/dashboard/bookings/")
    assert bookings.status_code == 200
    assert "suspended by TimeNest support" in bookings.content.decode()
    # and the plan history, the model history and the support trail say who and why
    change = PlanChange.objects.filter(tenant=acme).latest("created_at")
    assert (change.from_status, change.to_status, change.cause) == ("trial", "suspended", "support")
    assert (change.actor, change.note) == (user.email, "Chargeback fraud, ticket 31")
    (entry,) = _support_entries(acme)
    assert entry.actor == user
    assert entry.additional_data["reason"] == "Chargeback fraud, ticket 31"
    assert entry.changes_dict["status"] == ["trial", "suspended"]
    (access,) = _public_trail(user_id=user.pk, method="POST")
    assert access.reason == "Chargeback fraud, ticket 31"
    assert access.details == {"action": "tenant.suspend", "tenant": "acme"}


def test_suspending_needs_a_reason_and_the_permission_to_change_businesses(acme):
    _, reader = _staff(permissions=["accounts.view_tenant"])
    _, changer = _staff(permissions=["accounts.view_tenant", "accounts.change_tenant"])

    assert _suspend(reader, acme, "Fraud").status_code == 403
    refused = _suspend(changer, acme, "  ")
    assert refused.status_code == 400
    assert "This field is required" in refused.content.decode()

    acme.refresh_from_db()
    assert acme.status == Tenant.Status.TRIAL and acme.support_suspended_at is None
    assert _support_entries(acme) == []


def test_payments_plan_choices_and_the_daily_check_do_not_undo_a_support_suspension(acme):
    # given a business whose trial ended yesterday, suspended by support
    acme.trial_ends_at = timezone.now() - dt.timedelta(days=1)
    acme.save(update_fields=["trial_ends_at"])
    agent = UserFactory.create(is_staff=True)
    tenant_suspend(tenant=acme, reason="Abuse report", agent=agent)

    # when the daily check runs, Stripe reports a paid subscription and an admin picks Free
    with schema_context("public"):  # where the daily task runs
        tenants_lifecycle_check()
        tenants_lifecycle_check(now=timezone.now() + dt.timedelta(days=30))
    subscription_apply(tenant=acme, plan=STARTER, subscription_status="active", event_id="e1")
    plan_free_choose(tenant=acme, actor="owner@acme.test")

    # then it is still suspended (its plan follows billing)
    acme.refresh_from_db()
    assert acme.status == Tenant.Status.SUSPENDED
    assert acme.support_suspended_at is not None
    assert acme.plan == "free"

    # and reactivating gives it the standing billing gives it: active on Free
    reactivated = tenant_reactivate(tenant=acme, reason="Cleared by trust team", agent=agent)
    assert (reactivated.status, reactivated.plan) == (Tenant.Status.ACTIVE, "free")
    assert reactivated.support_suspended_at is None
    assert [e.additional_data["event"] for e in _support_entries(acme)] == [
        "tenant.suspended",
        "tenant.reactivated",
    ]


def test_an_unpaid_balance_during_a_support_suspension_is_kept_for_reactivation(acme, settings):
    agent = UserFactory.create(is_staff=True)
    acme.plan, acme.status = "starter", Tenant.Status.ACTIVE
    acme.save(update_fields=["plan", "status"])
    tenant_suspend(tenant=acme, reason="Investigating", agent=agent)

    # Stripe reports the subscription past due while support holds it
    subscription_apply(tenant=acme, plan=STARTER, subscription_status="past_due", event_id="e2")
    acme.refresh_from_db()
    assert acme.status == Tenant.Status.SUSPENDED and acme.past_due_since is not None

    # within the grace period: reactivated as past due
    assert tenant_reactivate(tenant=acme, reason="Done", agent=agent).status == "past_due"

    # suspended again and left past the grace period: reactivation lifts support's hold,
    # billing's suspension stays until the business pays
    tenant_suspend(tenant=acme, reason="Again", agent=agent)
    Tenant.objects.filter(pk=acme.pk).update(
        past_due_since=timezone.now() - dt.timedelta(days=settings.BILLING_GRACE_DAYS + 1)
    )
    acme.refresh_from_db()
    still = tenant_reactivate(tenant=acme, reason="Done again", agent=agent)
    assert still.status == Tenant.Status.SUSPENDED and still.support_suspended_at is None
    subscription_apply(tenant=acme, plan=STARTER, subscription_status="active", event_id="e3")
    acme.refresh_from_db()
    assert acme.status == Tenant.Status.ACTIVE


def test_reactivation_is_refused_for_a_closed_business_or_one_support_did_not_suspend(acme):
    from apps.accounts.closure import tenant_close

    agent = UserFactory.create(is_staff=True)
    with pytest.raises(ValidationFailed, match="not suspended by support"):
        tenant_reactivate(tenant=acme, reason="Why not", agent=agent)
    tenant_suspend(tenant=acme, reason="Fraud", agent=agent)
    with pytest.raises(ValidationFailed, match="already suspended"):
        tenant_suspend(tenant=acme, reason="Fraud again", agent=agent)
    tenant_close(tenant=acme, reason="Closed for fraud", agent=agent)
    with pytest.raises(ValidationFailed, match="closed for good"):
        tenant_reactivate(tenant=acme, reason="Oops", agent=agent)
    acme.refresh_from_db()
    assert acme.status == Tenant.Status.CLOSED


def test_suspend_and_reactivate_are_actions_of_the_businesses_list_next_to_close(acme, globex):
    _, agent = _staff(permissions=["accounts.view_tenant", "accounts.change_tenant"])
    selected = {
        "action": "suspend_business",
        "_selected_action": [str(acme.pk), str(globex.pk)],
        "index": "0",
    }

    listing = agent.get(CHANGELIST).content.decode()
    for action in ["close_business", "suspend_business", "reactivate_business"]:
        assert f'value="{action}"' in listing
    confirm = agent.post(CHANGELIST, selected)
    assert confirm.status_code == 200 and "Suspend these businesses" in confirm.content.decode()
    done = agent.post(CHANGELIST, {**selected, "apply": "1", "reason": "Platform outage drill"})

    assert done.status_code == 302
    assert set(
        Tenant.objects.filter(pk__in=[acme.pk, globex.pk]).values_list("status", flat=True)
    ) == {"suspended"}
    assert len(_support_entries(acme)) == len(_support_entries(globex)) == 1
    back = agent.post(
        CHANGELIST,
        {**selected, "action": "reactivate_business", "apply": "1", "reason": "Drill over"},
    )
    assert back.status_code == 302
    acme.refresh_from_db()
    assert acme.status == Tenant.Status.TRIAL
    # the record's form cannot lift it behind the trail's back
    assert (
        "support_suspended_at"
        not in agent.get(f"{CHANGELIST}{acme.pk}/change/").context["adminform"].form.fields
    )


# --- The platform's audit viewers ----------------------------------------------------


def test_the_platform_model_history_is_read_only_and_filterable_by_person(acme):
    _, agent = _staff(superuser=True)
    other = UserFactory.create(is_staff=True)
    tenant_suspend(tenant=acme, reason="Seen by the viewer", agent=other)

    listing = agent.get("/admin/auditlog/logentry/", {"actor__id__exact": str(other.pk)})

    assert listing.status_code == 200
    shown = list(listing.context["cl"].result_list)
    assert shown and all(entry.actor_id == other.pk for entry in shown)
    assert "Seen by the viewer" in listing.content.decode()
    assert agent.get("/admin/auditlog/logentry/add/").status_code == 403
    entry = shown[0]
    assert (
        agent.post(f"/admin/auditlog/logentry/{entry.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert LogEntry.objects.filter(pk=entry.pk).exists()


def test_the_platform_support_trail_is_read_only_and_filterable_by_kind(acme):
    _, agent = _staff(superuser=True)
    booking = BookingFactory.create()
    agent.post(LOOKUP, {"query": str(booking.pk), "reason": "Ticket 55"})

    lookups = agent.get("/admin/audit/supportaccess/", {"kind": "lookup"})

    assert lookups.status_code == 200
    (shown,) = lookups.context["cl"].result_list
    assert (shown.reason, shown.details["lookup"]) == ("Ticket 55", "booking_id")
    assert "Ticket 55" in lookups.content.decode()
    assert agent.get("/admin/audit/supportaccess/add/").status_code == 403
    assert agent.get(f"/admin/audit/supportaccess/{shown.pk}/delete/").status_code == 403
