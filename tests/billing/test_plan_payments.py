"""Paying for a plan on the Stripe stand-in: Checkout from the billing page, Stripe's
signed webhooks applied once (whatever their order or how often they come), the
invoices mirrored by dj-stripe, the customer portal, and Stripe out of reach."""

from __future__ import annotations

import json
import threading

import pytest
import stripe
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse

from apps.accounts.middleware import tenant_routes_forget
from apps.accounts.models import Membership, Tenant
from apps.billing.models import PlanChange, StripeEvent
from apps.billing.plans import PRO
from apps.billing.subscriptions import plan_price_id
from tests.browser.live import LIVE_DB
from tests.plugins.factories import MembershipFactory, member_client

WEBHOOK = "/billing/stripe/webhook/"
ROOT = "localhost"


@pytest.fixture
def admin(acme, acme_host):
    acme.plan, acme.status = "trial", Tenant.Status.TRIAL
    acme.save(update_fields=["plan", "status"])
    membership = MembershipFactory.create(tenant=acme, role=Membership.Role.ADMIN)
    return member_client(membership, acme_host)


def _deliver(standin, event_or_id, client: Client | None = None, secret: str | None = None):
    payload, signature = standin.signed_event(event_or_id, secret or settings.STRIPE_WEBHOOK_SECRET)
    client = client or Client(HTTP_HOST=ROOT)
    return client.post(
        WEBHOOK, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )


def _pay_for_starter(admin, standin):
    response = admin.post(reverse("dashboard:billing_choose_paid", args=["starter"]))
    assert response.status_code == 303
    session_id = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    assert response["Location"].startswith(standin.url)
    session = standin.object(session_id)
    assert session["mode"] == "subscription"
    completed = standin.checkout_complete(session_id)
    assert completed["redirect"].startswith("http://acme.localhost/dashboard/billing/?paid=1")
    return session, completed


def _events_oldest_first(standin):
    return list(reversed(standin.events()))


def test_paying_for_a_plan_through_checkout_makes_the_business_active_on_it(
    acme, admin, stripe_standin
):
    session, _ = _pay_for_starter(admin, stripe_standin)
    types = [event["type"] for event in _events_oldest_first(stripe_standin)]
    assert "checkout.session.completed" in types and "invoice.paid" in types

    for event in _events_oldest_first(stripe_standin):
        assert _deliver(stripe_standin, event).status_code == 200

    acme.refresh_from_db()
    tenant_routes_forget()
    assert (acme.plan, acme.status) == ("starter", Tenant.Status.ACTIVE)
    assert PlanChange.objects.filter(tenant=acme, to_plan="starter", cause="stripe").count() == 1
    # the customer is the business's, found by dj-stripe's subscriber key
    customer = stripe_standin.object(session["customer"])
    assert customer["metadata"]["djstripe_subscriber"] == str(acme.pk)
    page = admin.get(reverse("dashboard:billing")).content.decode()
    assert "Starter plan" in page
    assert "$19.00" in page  # the invoice dj-stripe mirrored
    assert "PDF" in page and "Change to Pro" in page


def test_stripe_calls_carry_our_idempotency_keys_and_go_only_to_the_stand_in(
    acme, admin, stripe_standin
):
    _pay_for_starter(admin, stripe_standin)
    writes = stripe_standin.requests(method="POST")
    keys = {request["path"]: request.get("idempotency_key") for request in writes}
    assert keys["/v1/customers"] == f"timenest-customer-{acme.pk}"
    assert keys["/v1/prices"] == "timenest-plan-price-starter"
    assert stripe.api_base == stripe_standin.url
    assert stripe_standin.url == settings.STRIPE_API_BASE


def test_an_unsigned_or_tampered_event_is_refused_and_nothing_is_recorded(
    acme, admin, stripe_standin
):
    _pay_for_starter(admin, stripe_standin)
    event = stripe_standin.events("invoice.paid")[0]
    root = Client(HTTP_HOST=ROOT)

    unsigned = root.post(WEBHOOK, data=json.dumps(event), content_type="application/json")
    wrong_secret = _deliver(stripe_standin, event, secret="whsec_someone_else")
    payload, signature = stripe_standin.signed_event(event, settings.STRIPE_WEBHOOK_SECRET)
    tampered = root.post(
        WEBHOOK,
        data=payload.replace('"paid"', '"void"'),
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )

    assert [r.status_code for r in (unsigned, wrong_secret, tampered)] == [400, 400, 400]
    assert not StripeEvent.objects.exists()
    assert Tenant.objects.get(pk=acme.pk).plan == "trial"


def test_events_out_of_order_end_in_the_subscriptions_real_state(acme, admin, stripe_standin):
    _pay_for_starter(admin, stripe_standin)
    subscription_id = stripe_standin.events("customer.subscription.created")[0]["data"]["object"][
        "id"
    ]
    stripe_standin.subscription_status(subscription_id, "past_due")
    events = _events_oldest_first(stripe_standin)
    failed = next(e for e in events if e["type"] == "invoice.payment_failed")
    paid = next(e for e in events if e["type"] == "invoice.paid")

    # the failure is delivered first; the first payment's event only afterwards
    assert _deliver(stripe_standin, failed).status_code == 200
    assert _deliver(stripe_standin, paid).status_code == 200

    acme.refresh_from_db()
    assert (acme.plan, acme.status) == ("starter", Tenant.Status.PAST_DUE)

    # Stripe collects: active again, whichever event says so
    stripe_standin.subscription_status(subscription_id, "active")
    latest_paid = stripe_standin.events("invoice.paid")[0]
    assert _deliver(stripe_standin, latest_paid).status_code == 200
    acme.refresh_from_db()
    assert (acme.status, acme.past_due_since) == (Tenant.Status.ACTIVE, None)


def test_an_event_for_no_known_business_is_recorded_and_ignored(acme, stripe_standin):
    customer = stripe.Customer.create(email="x@example.com", api_key=stripe_standin.api_key)
    product = stripe.Product.create(name="Other", api_key=stripe_standin.api_key)
    price = stripe.Price.create(
        product=product.id,
        unit_amount=500,
        currency="usd",
        recurring={"interval": "month"},
        api_key=stripe_standin.api_key,
    )
    session = stripe.checkout.Session.create(
        mode="subscription",
        customer=customer.id,
        line_items=[{"price": price.id, "quantity": 1}],
        success_url="https://example.com/ok",
        api_key=stripe_standin.api_key,
    )
    stripe_standin.checkout_complete(session.id)
    event = stripe_standin.events("customer.subscription.created")[0]

    response = _deliver(stripe_standin, event)

    assert response.status_code == 200
    recorded = StripeEvent.objects.get(pk=event["id"])
    assert recorded.outcome == StripeEvent.Outcome.IGNORED
    assert recorded.note == "no business for this subscription"
    assert not PlanChange.objects.exists()


def test_a_replayed_event_is_applied_once(acme, admin, stripe_standin):
    _pay_for_starter(admin, stripe_standin)
    event = stripe_standin.events("customer.subscription.created")[0]

    answers = [_deliver(stripe_standin, event).json()["outcome"] for _ in range(3)]

    assert answers == ["applied", "applied", "applied"]
    assert StripeEvent.objects.get(pk=event["id"]).attempts == 1
    assert PlanChange.objects.filter(tenant=acme).count() == 1


def test_a_failure_while_applying_is_kept_answered_500_and_applied_on_a_later_delivery(
    acme, admin, stripe_standin
):
    _pay_for_starter(admin, stripe_standin)
    event = stripe_standin.events("customer.subscription.created")[0]
    stripe_standin.fail_next(3)  # Stripe is out of reach when the handler re-reads

    failed = _deliver(stripe_standin, event)

    assert failed.status_code == 500
    row = StripeEvent.objects.get(pk=event["id"])
    assert row.outcome == StripeEvent.Outcome.FAILED and row.processed_at is None
    assert "PaymentsUnavailable" in row.last_error
    assert Tenant.objects.get(pk=acme.pk).plan == "trial"

    stripe_standin.fail_next(0)
    again = _deliver(stripe_standin, event)
    assert again.status_code == 200 and again.json()["outcome"] == "applied"
    assert Tenant.objects.get(pk=acme.pk).plan == "starter"


def test_stripe_out_of_reach_leaves_the_page_working_and_charges_nothing(
    acme, admin, stripe_standin, monkeypatch
):
    stripe_standin.fail_next(5, mode="drop")
    monkeypatch.setattr(stripe, "max_network_retries", 0)

    response = admin.post(reverse("dashboard:billing_choose_paid", args=["starter"]))

    assert response.status_code == 503
    assert "could not be reached" in response.content.decode()
    assert not [r for r in stripe_standin.requests(method="POST") if "checkout" in r["path"]]
    assert Tenant.objects.get(pk=acme.pk).plan == "trial"


def test_the_customer_portal_opens_for_the_business_customer(acme, admin, stripe_standin):
    response = admin.post(reverse("dashboard:billing_portal"))

    assert response.status_code == 303
    assert response["Location"].startswith(stripe_standin.url)
    portal = [r for r in stripe_standin.requests(method="POST") if "billing_portal" in r["path"]]
    assert len(portal) == 1


@LIVE_DB  # committed rows; the flush afterwards cascades to tenant tables
def test_twenty_deliveries_of_one_event_at_once_apply_it_once(stripe_standin, django_db_blocker):
    """Each delivery on its own thread and connection, released together."""
    from apps.billing.services import subscription_apply  # noqa: F401  (warm imports)

    acme = Tenant.objects.get(slug="acme")
    acme.plan, acme.status = "trial", Tenant.Status.TRIAL
    acme.save(update_fields=["plan", "status"])
    membership = MembershipFactory.create(tenant=acme, role=Membership.Role.ADMIN)
    admin = member_client(membership, f"acme.{settings.BASE_DOMAIN}")
    _pay_for_starter(admin, stripe_standin)
    event = stripe_standin.events("customer.subscription.created")[0]
    payload, signature = stripe_standin.signed_event(event, settings.STRIPE_WEBHOOK_SECRET)
    barrier = threading.Barrier(20)
    statuses: list[int] = []

    def deliver() -> None:
        try:
            client = Client(HTTP_HOST=ROOT)
            barrier.wait(timeout=30)
            response = client.post(
                WEBHOOK,
                data=payload,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=signature,
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert statuses == [200] * 20
    assert StripeEvent.objects.get(pk=event["id"]).attempts == 1
    assert PlanChange.objects.filter(tenant=acme, to_plan="starter").count() == 1
    assert Tenant.objects.get(pk=acme.pk).plan == "starter"


def test_a_business_that_just_paid_is_not_sent_to_pay_again(acme, admin, stripe_standin):
    _pay_for_starter(admin, stripe_standin)  # its events have not reached us yet

    again = admin.post(reverse("dashboard:billing_choose_paid", args=["pro"]))

    assert again.status_code == 409
    assert "already has a subscription" in again.content.decode()
    sessions = [
        r for r in stripe_standin.requests(method="POST") if r["path"] == "/v1/checkout/sessions"
    ]
    assert len(sessions) == 1


def test_the_end_of_an_old_subscription_does_not_move_a_business_paying_another(
    acme, admin, stripe_standin
):
    session, _ = _pay_for_starter(admin, stripe_standin)
    for event in _events_oldest_first(stripe_standin):
        _deliver(stripe_standin, event)
    first = stripe_standin.events("customer.subscription.created")[0]["data"]["object"]["id"]
    # a second subscription, to Pro, made on Stripe's side
    pro_price = plan_price_id(PRO)
    second = stripe.checkout.Session.create(
        mode="subscription",
        customer=session["customer"],
        line_items=[{"price": pro_price, "quantity": 1}],
        success_url="https://example.com/ok",
        metadata={"tenant": str(acme.pk), "plan": "pro"},
        subscription_data={"metadata": {"tenant": str(acme.pk), "plan": "pro"}},
        api_key=stripe_standin.api_key,
    )
    stripe_standin.checkout_complete(second.id)
    _deliver(stripe_standin, stripe_standin.events("customer.subscription.created")[0])
    acme.refresh_from_db()
    assert acme.plan == "pro"

    stripe_standin.subscription_status(first, "canceled")
    ended = stripe_standin.events("customer.subscription.deleted")[0]
    assert _deliver(stripe_standin, ended).status_code == 200

    acme.refresh_from_db()
    assert (acme.plan, acme.status) == ("pro", Tenant.Status.ACTIVE)
    assert StripeEvent.objects.get(pk=ended["id"]).outcome == StripeEvent.Outcome.IGNORED
