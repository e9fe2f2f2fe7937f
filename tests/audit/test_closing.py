"""A business is never dropped from the admin: support closes it with a reason (served
like a suspended one from then on, audited), and only `manage.py tenant_purge`, long
after and with the slug typed again, drops it."""

from __future__ import annotations

import datetime as dt

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import schema_context, schema_exists

from apps.accounts.closure import tenant_close
from apps.accounts.models import Domain, Membership, Tenant, TenantWorkDue, User
from apps.billing.models import PlanChange
from apps.billing.plans import STARTER
from apps.billing.services import plan_free_choose, subscription_apply
from apps.core.errors import ValidationFailed
from tests.api.calls import error_of, key_client
from tests.plugins.factories import (
    MembershipFactory,
    TenantFactory,
    UserFactory,
    member_client,
    verified_staff_client,
)

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/accounts/tenant/"
PURGE_ARGS = ["--confirm", "closingshop", "--by", "closer@timenest.test"]


def _close_through_the_admin(agent: Client, tenant: Tenant, reason: str):
    selected = {"action": "close_business", "_selected_action": [str(tenant.pk)], "index": "0"}
    confirm = agent.post(CHANGELIST, selected)
    assert confirm.status_code == 200
    assert "Close these businesses" in confirm.content.decode()
    return agent.post(CHANGELIST, {**selected, "apply": "1", "reason": reason})


def _closure_entries(tenant: Tenant) -> list[LogEntry]:
    with schema_context("public"):
        return list(
            LogEntry.objects.filter(
                content_type=ContentType.objects.get_for_model(Tenant),
                object_pk=str(tenant.pk),
                additional_data__event__in=["tenant.closed", "tenant.purged"],
            ).select_related("actor")
        )


def test_deleting_a_business_row_never_drops_its_schema():
    tenant = TenantFactory.create(slug="keepme")

    tenant.delete()

    assert Tenant.auto_drop_schema is False
    assert schema_exists("t_keepme")


def test_the_platform_admin_offers_no_delete_but_a_close_action():
    acme = Tenant.objects.get(slug="acme")
    agent = verified_staff_client("localhost", email="agent@timenest.test")

    listing = agent.get(CHANGELIST).content.decode()
    assert 'value="close_business"' in listing
    assert 'value="delete_selected"' not in listing
    assert agent.get(f"{CHANGELIST}{acme.pk}/delete/").status_code == 403
    assert agent.post(f"{CHANGELIST}{acme.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk = agent.post(CHANGELIST, {"action": "delete_selected", "_selected_action": [acme.pk]})
    assert bulk.status_code in (200, 302)
    assert Tenant.objects.filter(pk=acme.pk).exists()
    assert schema_exists(acme.schema_name)


def test_people_are_deactivated_not_deleted_in_the_admin():
    person = UserFactory.create(email="leaver@example.test")
    agent = verified_staff_client("localhost", email="agent@timenest.test")

    users = "/admin/accounts/user/"
    assert 'value="delete_selected"' not in agent.get(users).content.decode()
    assert agent.post(f"{users}{person.pk}/delete/", {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=person.pk).exists()


def test_support_closes_a_business_with_a_reason_and_it_stops_taking_bookings(acme, acme_host):
    # given acme's API key, a member of its staff and a support agent
    api = key_client(acme_host, "admin")
    staff = member_client(MembershipFactory.create(tenant=acme), acme_host)
    agent = verified_staff_client("localhost", email="closer@timenest.test")

    # when the agent closes acme through the admin, saying why
    done = _close_through_the_admin(agent, acme, "Owner asked us to close the account")

    # then acme is closed, with the reason
    assert done.status_code == 302
    acme.refresh_from_db()
    assert acme.status == Tenant.Status.CLOSED
    assert acme.closed_reason == "Owner asked us to close the account"
    assert timezone.now() - acme.closed_at < dt.timedelta(minutes=1)
    # and the public audit trail says who closed it, from what, and why
    (entry,) = _closure_entries(acme)
    assert entry.actor.email == "closer@timenest.test"
    assert entry.action == LogEntry.Action.UPDATE
    assert entry.changes_dict["status"] == ["trial", "closed"]
    assert entry.additional_data["reason"] == "Owner asked us to close the account"
    # and its booking pages answer like a suspended business's
    page = Client(HTTP_HOST=acme_host).get("/")
    assert page.status_code == 503
    assert "not taking bookings online" in page.content.decode()
    # and its API refuses, reads included, with its own code
    answer = api.get("/api/v1/services")
    assert answer.status_code == 403
    assert error_of(answer)["code"] == "BUSINESS_CLOSED"
    # while its staff still sign in and see its bookings
    assert staff.get(reverse("dashboard:bookings")).status_code == 200


def test_the_close_action_wants_a_reason_and_closes_nothing_without_one(acme):
    agent = verified_staff_client("localhost")

    answer = _close_through_the_admin(agent, acme, "   ")

    assert answer.status_code == 200
    assert "This field is required" in answer.content.decode()
    acme.refresh_from_db()
    assert acme.status == Tenant.Status.TRIAL
    assert _closure_entries(acme) == []


def test_a_closed_business_is_not_closed_twice_nor_reopened_by_billing(acme):
    agent = UserFactory.create(is_staff=True)
    tenant_close(tenant=acme, reason="Fraud", agent=agent)

    with pytest.raises(ValidationFailed, match="already closed"):
        tenant_close(tenant=acme, reason="Again", agent=agent)
    # Stripe reports a paid subscription; an admin picks the Free plan
    subscription_apply(tenant=acme, plan=STARTER, subscription_status="active", event_id="e1")
    plan_free_choose(tenant=acme, actor="owner@acme.test")

    acme.refresh_from_db()
    assert acme.status == Tenant.Status.CLOSED
    assert acme.plan == "free"
    assert set(PlanChange.objects.filter(tenant=acme).values_list("to_status", flat=True)) == {
        "closed"
    }


@pytest.fixture
def closed_shop():
    """A business of its own (purging drops it), closed by an agent just now."""
    tenant = TenantFactory.create(slug="closingshop")
    agent = UserFactory.create(email="closer@timenest.test", is_staff=True)
    return tenant_close(tenant=tenant, reason="Asked to leave", agent=agent)


def _closed_days_ago(tenant: Tenant, days: int) -> None:
    Tenant.objects.filter(pk=tenant.pk).update(
        closed_at=timezone.now() - dt.timedelta(days=days, minutes=1)
    )


def test_purge_is_refused_without_the_slug_typed_again(closed_shop):
    _closed_days_ago(closed_shop, 40)

    for confirm in ([], ["--confirm", "acme"]):
        with pytest.raises(CommandError, match="to confirm"):
            call_command("tenant_purge", "closingshop", *confirm, "--by", "closer@timenest.test")

    assert schema_exists("t_closingshop")


def test_purge_is_refused_before_the_delay_and_for_an_open_business(closed_shop):
    _closed_days_ago(closed_shop, 29)
    with pytest.raises(CommandError, match="can be purged from"):
        call_command("tenant_purge", "closingshop", *PURGE_ARGS)
    with pytest.raises(CommandError, match="only a closed business"):
        call_command("tenant_purge", "acme", "--confirm", "acme", "--by", "closer@timenest.test")

    assert schema_exists("t_closingshop") and schema_exists("t_acme")
    assert [entry.additional_data["event"] for entry in _closure_entries(closed_shop)] == [
        "tenant.closed"
    ]


def test_purge_is_refused_to_someone_who_is_not_platform_staff(closed_shop):
    _closed_days_ago(closed_shop, 40)
    UserFactory.create(email="owner@closingshop.test", is_staff=False)

    with pytest.raises(CommandError, match="platform staff"):
        call_command(
            "tenant_purge",
            "closingshop",
            "--confirm",
            "closingshop",
            "--by",
            "owner@closingshop.test",
        )

    assert schema_exists("t_closingshop")


def test_purge_after_the_delay_drops_the_business_and_keeps_the_record(closed_shop, capsys):
    # given a business closed 30 days ago, with a plan history
    _closed_days_ago(closed_shop, 30)
    owner = Membership.objects.get(tenant=closed_shop).user
    PlanChange.objects.create(
        tenant=closed_shop,
        from_plan="trial",
        to_plan="free",
        from_status="trial",
        to_status="active",
        cause=PlanChange.Cause.SCHEDULE,
    )
    TenantWorkDue.objects.create(schema_name="t_closingshop", kind="messages", due_at=None)

    # when an agent purges it, typing its slug again
    call_command("tenant_purge", "closingshop", *PURGE_ARGS)

    # then its schema, row, domains and memberships are gone
    assert not schema_exists("t_closingshop")
    assert not Tenant.objects.filter(pk=closed_shop.pk).exists()
    assert not Domain.objects.filter(domain__startswith="closingshop.").exists()
    assert User.objects.filter(pk=owner.pk).exists()  # people are global: they stay
    assert not TenantWorkDue.objects.filter(schema_name="t_closingshop").exists()
    # and the platform keeps its plan history and who purged it, when and what went
    assert PlanChange.objects.filter(tenant_id=closed_shop.pk).exists()
    closed, purged = sorted(_closure_entries(closed_shop), key=lambda entry: entry.timestamp)
    assert closed.additional_data["event"] == "tenant.closed"
    assert purged.action == LogEntry.Action.DELETE
    assert purged.actor.email == "closer@timenest.test"
    assert purged.additional_data["schema"] == "t_closingshop"
    assert purged.additional_data["closed_reason"] == "Asked to leave"
    assert purged.additional_data["domains"] == ["closingshop.localhost"]
    assert "tenant_purge" in purged.additional_data["via"]
    assert "Purged closingshop" in capsys.readouterr().out


@override_settings(TENANT_PURGE_DELAY_DAYS=5)
def test_purge_delay_comes_from_the_setting(closed_shop):
    _closed_days_ago(closed_shop, 5)

    call_command("tenant_purge", "closingshop", *PURGE_ARGS)

    assert not schema_exists("t_closingshop")
