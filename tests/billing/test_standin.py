"""The Stripe stand-in (apps/billing/standin) driven by the real stripe client and by
dj-stripe's sync functions, the way the billing code will drive it."""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
import stripe

from tests.plugins.stripe_standin import STANDIN_API_KEY

SECRET = "whsec_test_standin"


@pytest.fixture(autouse=True)
def _stripe_key(monkeypatch):
    monkeypatch.setattr(stripe, "api_key", STANDIN_API_KEY)
    monkeypatch.setattr(stripe, "max_network_retries", 0)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def browser(url, form=None):
    """(status, Location or body) of a GET, or of a form POST, without following."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, data=data)) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        if error.code in (301, 302, 303):
            return error.code, error.headers["Location"]
        return error.code, error.read().decode()


def catalogue(recurring=False, amount=2500, **options):
    product = stripe.Product.create(name="Consultation")
    price = stripe.Price.create(
        product=product.id,
        unit_amount=amount,
        currency="gbp",
        **({"recurring": {"interval": "month"}} if recurring else {}),
        **options,
    )
    return product, price


def paid_session(price, **options):
    session = stripe.checkout.Session.create(
        mode="payment",
        line_items=[{"price": price.id, "quantity": 1}],
        success_url="https://acme.example/done?session={CHECKOUT_SESSION_ID}",
        cancel_url="https://acme.example/cancelled",
        **options,
    )
    return session


def subscription_checkout(stripe_standin, price, **options):
    session = stripe.checkout.Session.create(
        mode="subscription",
        line_items=[{"price": price.id, "quantity": 1}],
        customer_email="owner@acme.example",
        success_url="https://acme.example/billing/done",
        **options,
    )
    stripe_standin.checkout_complete(session.id)
    return stripe.checkout.Session.retrieve(session.id)


def test_payment_checkout_through_the_page_with_a_signed_webhook(
    stripe_standin, stripe_webhook_receiver
):
    stripe_standin.webhook_add(stripe_webhook_receiver.url, SECRET)
    _, price = catalogue()
    customer = stripe.Customer.create(email="ann@example.com", metadata={"tenant": "acme"})
    session = paid_session(
        price,
        customer=customer.id,
        client_reference_id="booking-7",
        metadata={"booking": "b7"},
        payment_intent_data={"metadata": {"booking": "b7"}},
    )
    assert session.id.startswith("cs_test_") and session.status == "open"
    assert session.amount_total == 2500 and session.currency == "gbp"

    status, page = browser(session.url)
    assert status == 200
    assert "Pay</button>" in page and "Cancel</button>" in page and "25.00 GBP" in page

    status, location = browser(f"{stripe_standin.url}/checkout/{session.id}/pay", {})
    assert status == 303
    assert location == f"https://acme.example/done?session={session.id}"
    # Delivered before the redirect: the app knows before the browser lands.
    delivery = next(
        d for d in stripe_webhook_receiver.received
        if d.event["type"] == "checkout.session.completed"
    )  # fmt: skip
    event = stripe.Webhook.construct_event(delivery.body, delivery.signature, SECRET)
    assert event.data.object.id == session.id
    assert event.data.object.metadata["booking"] == "b7"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(delivery.body, delivery.signature, "whsec_wrong")

    paid = stripe.checkout.Session.retrieve(session.id, expand=["payment_intent.latest_charge"])
    assert (paid.status, paid.payment_status, paid.client_reference_id) == (
        "complete", "paid", "booking-7"
    )  # fmt: skip
    intent = paid.payment_intent
    assert intent.status == "succeeded" and intent.amount_received == 2500
    assert intent.metadata["booking"] == "b7" and intent.customer == customer.id
    assert intent.latest_charge.paid and intent.latest_charge.amount == 2500
    assert {"charge.succeeded", "payment_intent.succeeded"} <= set(stripe_webhook_receiver.types())
    assert stripe.Event.retrieve(event.id).type == "checkout.session.completed"


def test_cancel_button_returns_without_paying(stripe_standin):
    _, price = catalogue()
    session = paid_session(price)
    status, location = browser(f"{stripe_standin.url}/checkout/{session.id}/cancel", {})
    assert (status, location) == (303, "https://acme.example/cancelled")
    assert stripe.checkout.Session.retrieve(session.id).status == "open"
    assert stripe.PaymentIntent.list().data == []


def test_checkout_expiry(stripe_standin, stripe_webhook_receiver):
    stripe_standin.webhook_add(stripe_webhook_receiver.url, SECRET)
    _, price = catalogue()
    with pytest.raises(stripe.InvalidRequestError) as too_soon:
        paid_session(price, expires_at=int(time.time()) + 60)
    assert too_soon.value.param == "expires_at"
    with pytest.raises(stripe.InvalidRequestError):
        paid_session(price, expires_at=int(time.time()) + 25 * 3600)

    session = paid_session(price, expires_at=int(time.time()) + 3600)
    expired = stripe.checkout.Session.expire(session.id)
    assert expired.status == "expired" and expired.url is None
    stripe_standin.flush()
    assert "checkout.session.expired" in stripe_webhook_receiver.types()

    status, page = browser(f"{stripe_standin.url}/checkout/{session.id}/pay", {})
    assert status >= 400 and "expired" in page
    assert stripe.PaymentIntent.list().data == []

    paid = paid_session(price)
    stripe_standin.checkout_complete(paid.id)
    with pytest.raises(stripe.InvalidRequestError):
        stripe.checkout.Session.expire(paid.id)


def test_refunds_partial_full_and_too_much(stripe_standin):
    _, price = catalogue(amount=5000)
    session = paid_session(price)
    stripe_standin.checkout_complete(session.id)
    intent_id = stripe.checkout.Session.retrieve(session.id).payment_intent

    partial = stripe.Refund.create(
        payment_intent=intent_id, amount=2000, reason="requested_by_customer",
        metadata={"booking": "b1"},
    )  # fmt: skip
    assert partial.id.startswith("re_") and partial.status == "succeeded"
    charge = stripe.Charge.retrieve(partial.charge)
    assert (charge.amount_refunded, charge.refunded) == (2000, False)

    with pytest.raises(stripe.InvalidRequestError) as too_much:
        stripe.Refund.create(payment_intent=intent_id, amount=3001)
    assert too_much.value.http_status == 400 and too_much.value.param == "amount"

    rest = stripe.Refund.create(charge=charge.id)
    assert rest.amount == 3000
    charge = stripe.Charge.retrieve(charge.id)
    assert (charge.amount_refunded, charge.refunded) == (5000, True)
    assert [r.id for r in stripe.Refund.list(payment_intent=intent_id).data] == [
        rest.id,
        partial.id,
    ]
    with pytest.raises(stripe.InvalidRequestError) as again:
        stripe.Refund.create(charge=charge.id)
    assert again.value.code == "charge_already_refunded"
    stripe_standin.flush()
    assert len(stripe_standin.events("charge.refunded")) == 2


def test_idempotency_keys_replay_and_refuse_other_bodies(stripe_standin):
    first = stripe.Customer.create(email="a@example.com", idempotency_key="signup-1")
    again = stripe.Customer.create(email="a@example.com", idempotency_key="signup-1")
    assert again.id == first.id
    assert len(stripe.Customer.list().data) == 1
    with pytest.raises(stripe.IdempotencyError):
        stripe.Customer.create(email="b@example.com", idempotency_key="signup-1")

    posts = stripe_standin.requests(path="/v1/customers", method="POST")
    assert [r["idempotency_key"] for r in posts] == ["signup-1"] * 3
    assert [r["replayed"] for r in posts] == [False, True, False]
    assert posts[0]["params"] == {"email": "a@example.com"}


def test_connected_account_scoping_and_onboarding_page(stripe_standin, stripe_webhook_receiver):
    stripe_standin.webhook_add(stripe_webhook_receiver.url, SECRET, connect=True)
    account = stripe.Account.create(type="standard", country="GB", email="owner@acme.example")
    assert account.id.startswith("acct_") and account.default_currency == "gbp"
    assert not account.charges_enabled
    assert "eur" in stripe.CountrySpec.retrieve("GB").supported_payment_currencies

    with pytest.raises(stripe.InvalidRequestError) as not_onboarded:  # charges not enabled
        stripe.checkout.Session.create(
            mode="payment", line_items=[{"price_data": {"currency": "gbp", "unit_amount": 900,
            "product_data": {"name": "Haircut"}}}], stripe_account=account.id,
        )  # fmt: skip
    assert not_onboarded.value.code == "account_invalid"

    link = stripe.AccountLink.create(
        account=account.id,
        refresh_url="https://acme.example/connect/refresh",
        return_url="https://acme.example/connect/done",
        type="account_onboarding",
    )
    status, page = browser(link.url)
    assert status == 200 and "Complete onboarding</button>" in page
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(link.url).query)["link"][0]
    status, location = browser(f"{stripe_standin.url}/connect/{account.id}/complete",
                               {"link": token})  # fmt: skip
    assert (status, location) == (303, "https://acme.example/connect/done")
    updated = stripe_webhook_receiver.wait_for("account.updated").event
    assert updated["account"] == account.id and updated["data"]["object"]["charges_enabled"]
    assert stripe.Account.retrieve(account.id).payouts_enabled

    customer = stripe.Customer.create(email="c@example.com", stripe_account=account.id)
    assert stripe.Customer.retrieve(customer.id, stripe_account=account.id).id == customer.id
    with pytest.raises(stripe.InvalidRequestError) as hidden:
        stripe.Customer.retrieve(customer.id)
    assert hidden.value.http_status == 404 and hidden.value.code == "resource_missing"
    with pytest.raises(stripe.PermissionError):
        stripe.Customer.list(stripe_account="acct_1Unknown")

    session = stripe.checkout.Session.create(
        mode="payment",
        line_items=[{"price_data": {"currency": "gbp", "unit_amount": 4000,
                                    "product_data": {"name": "Haircut"}}}],
        payment_intent_data={"application_fee_amount": 200, "metadata": {"booking": "b9"}},
        success_url="https://acme.example/ok",
        stripe_account=account.id,
    )  # fmt: skip
    with pytest.raises(stripe.InvalidRequestError):
        stripe.checkout.Session.retrieve(session.id)
    stripe_standin.checkout_complete(session.id)
    completed = stripe_webhook_receiver.wait_for("checkout.session.completed").event
    assert completed["account"] == account.id
    intent = stripe.PaymentIntent.retrieve(
        completed["data"]["object"]["payment_intent"], stripe_account=account.id
    )
    assert intent.application_fee_amount == 200 and intent.metadata["booking"] == "b9"

    restricted = stripe_standin.account_restrict(account.id)
    assert restricted["account"]["charges_enabled"] is False
    assert restricted["deliveries"][0]["ok"]


def test_subscription_checkout_starts_a_paid_subscription(stripe_standin, stripe_webhook_receiver):
    stripe_standin.webhook_add(stripe_webhook_receiver.url, SECRET)
    _, price = catalogue(recurring=True, amount=2900, lookup_key="pro_monthly")
    assert stripe.Price.list(lookup_keys=["pro_monthly"]).data[0].id == price.id
    session = subscription_checkout(
        stripe_standin, price, metadata={"tenant": "acme"},
        subscription_data={"metadata": {"tenant": "acme"}},
    )  # fmt: skip
    assert session.status == "complete" and session.payment_status == "paid"

    subscription = stripe.Subscription.retrieve(session.subscription)
    assert subscription.status == "active" and subscription.customer == session.customer
    assert subscription.metadata["tenant"] == "acme"
    assert subscription["items"].data[0].price.id == price.id
    invoice = stripe.Invoice.retrieve(subscription.latest_invoice)
    assert (invoice.status, invoice.amount_paid) == ("paid", 2900)
    assert invoice.hosted_invoice_url.startswith(stripe_standin.url) and invoice.invoice_pdf
    assert stripe.Invoice.list_lines(invoice.id).data[0].amount == 2900
    assert browser(invoice.hosted_invoice_url)[0] == 200
    assert stripe.Customer.retrieve(session.customer).email == "owner@acme.example"
    assert {"customer.created", "customer.subscription.created", "invoice.paid",
            "checkout.session.completed"} <= set(stripe_webhook_receiver.types())  # fmt: skip

    trial = subscription_checkout(
        stripe_standin, price, subscription_data={"trial_period_days": 14}
    )
    trialing = stripe.Subscription.retrieve(trial.subscription)
    assert trialing.status == "trialing" and trialing.trial_end > time.time() + 13 * 86400
    assert stripe.Invoice.retrieve(trialing.latest_invoice).amount_paid == 0


def test_subscription_changes_and_status_moves(stripe_standin, stripe_webhook_receiver):
    stripe_standin.webhook_add(stripe_webhook_receiver.url, SECRET)
    product, price = catalogue(recurring=True, amount=2900)
    bigger = stripe.Price.create(product=product.id, unit_amount=7900, currency="gbp",
                                 recurring={"interval": "month"})  # fmt: skip
    subscription = stripe.Subscription.retrieve(
        subscription_checkout(stripe_standin, price).subscription
    )
    item = subscription["items"].data[0]

    changed = stripe.Subscription.modify(
        subscription.id, items=[{"id": item.id, "price": bigger.id}], cancel_at_period_end=True
    )
    assert changed["items"].data[0].price.id == bigger.id and changed.cancel_at_period_end
    stripe_standin.flush()
    updated = stripe_standin.events("customer.subscription.updated")[0]
    assert "cancel_at_period_end" in updated["data"]["previous_attributes"]

    past_due = stripe_standin.subscription_status(subscription.id, "past_due")
    assert past_due["subscription"]["status"] == "past_due"
    failed = stripe_webhook_receiver.wait_for("invoice.payment_failed").event["data"]["object"]
    assert failed["status"] == "open" and failed["amount_due"] == 7900
    stripe_standin.subscription_status(subscription.id, "active")
    assert stripe.Invoice.retrieve(failed["id"]).status == "paid"

    deleted = stripe.Subscription.cancel(subscription.id)
    assert deleted.status == "canceled"
    assert stripe.Subscription.list().data == []
    assert len(stripe.Subscription.list(status="all").data) == 1


def test_billing_portal_cancels_a_plan(stripe_standin, stripe_webhook_receiver):
    stripe_standin.webhook_add(stripe_webhook_receiver.url, SECRET)
    _, price = catalogue(recurring=True)
    session = subscription_checkout(stripe_standin, price)
    portal = stripe.billing_portal.Session.create(
        customer=session.customer, return_url="https://acme.example/billing"
    )
    assert portal.id.startswith("bps_")
    status, page = browser(portal.url)
    assert status == 200 and session.subscription in page and "Cancel plan</button>" in page
    assert 'action="https://acme.example/billing"' in page

    status, location = browser(f"{portal.url}/cancel", {"subscription": session.subscription})
    assert (status, location) == (303, f"/portal/{portal.id}")
    assert stripe.Subscription.retrieve(session.subscription).status == "canceled"
    deleted = stripe_webhook_receiver.wait_for("customer.subscription.deleted")
    assert stripe.Webhook.construct_event(deleted.body, deleted.signature, SECRET)


def test_failures_and_bad_keys_raise_like_stripe(stripe_standin):
    stripe_standin.fail_next(1)
    with pytest.raises(stripe.APIError):
        stripe.Customer.create(email="x@example.com")
    stripe_standin.fail_next(1, mode="drop")
    with pytest.raises(stripe.APIConnectionError):
        stripe.Customer.list()
    assert stripe.Customer.list().data == []
    with pytest.raises(stripe.AuthenticationError):
        stripe.Customer.list(api_key="sk_live_nope")
    assert [r.get("injected") for r in stripe_standin.requests()][:2] == ["error", "drop"]


def test_stripe_client_with_base_addresses(stripe_standin):
    client = stripe.StripeClient(STANDIN_API_KEY, base_addresses={"api": stripe_standin.url},
                                 max_network_retries=0)  # fmt: skip
    product = client.v1.products.create(params={"name": "Plan"})
    price = client.v1.prices.create(params={
        "product": product.id, "unit_amount": 1500, "currency": "eur",
        "recurring": {"interval": "year"}, "lookup_key": "basic_yearly",
    })  # fmt: skip
    found = client.v1.prices.list(params={"lookup_keys": ["basic_yearly"], "active": True})
    assert [p.id for p in found.data] == [price.id]
    assert (
        client.v1.prices.retrieve(price.id, params={"expand": ["product"]}).product.name == "Plan"
    )
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.retrieve("cus_missing")


def test_control_api_events(stripe_standin, stripe_webhook_receiver):
    endpoint = stripe_standin.webhook_add(stripe_webhook_receiver.url)
    customer = stripe.Customer.create(email="d@example.com")
    stripe_standin.flush()
    created = stripe_webhook_receiver.wait_for("customer.created").event
    assert created["request"]["idempotency_key"]  # stripe-python sends one on every POST

    emitted = stripe_standin.emit("customer.updated", customer.id)
    assert emitted["deliveries"][0]["ok"]
    resent = stripe_standin.resend(created["id"])
    assert resent[0]["ok"] and resent[0]["endpoint"] == endpoint["id"]
    assert len([t for t in stripe_webhook_receiver.types() if t == "customer.created"]) == 2

    payload, signature = stripe_standin.signed_event(created["id"], endpoint["secret"])
    assert (
        stripe.Webhook.construct_event(payload, signature, endpoint["secret"]).id == created["id"]
    )
    status, _ = stripe_standin.send_event(
        stripe_webhook_receiver.url, "whsec_x", {"id": "evt_1", "type": "ping", "object": "event"}
    )
    assert status == 200
    last = stripe_webhook_receiver.received[-1]
    assert stripe.Webhook.construct_event(last.body, last.signature, "whsec_x").type == "ping"
    stripe_webhook_receiver.status = 500
    stripe_standin.emit("customer.updated", customer.id)
    assert not stripe_standin.deliveries()[-1]["ok"]


@pytest.mark.django_db
def test_djstripe_syncs_against_the_standin(stripe_standin, settings):
    from djstripe import models as djstripe_models

    settings.STRIPE_TEST_SECRET_KEY = STANDIN_API_KEY
    product, price = catalogue(recurring=True, amount=2900)
    session = subscription_checkout(stripe_standin, price)

    customer = djstripe_models.Customer.sync_from_stripe_data(
        stripe.Customer.retrieve(session.customer)
    )
    assert customer.email == "owner@acme.example"
    assert djstripe_models.Product.sync_from_stripe_data(stripe.Product.retrieve(product.id)).name
    synced_price = djstripe_models.Price.sync_from_stripe_data(stripe.Price.retrieve(price.id))
    assert synced_price.product.id == product.id
    subscription = djstripe_models.Subscription.sync_from_stripe_data(
        stripe.Subscription.retrieve(session.subscription)
    )
    assert subscription.customer == customer and subscription.items.get().price == synced_price
    stripe_invoice = stripe.Invoice.retrieve(session.invoice)
    invoice = djstripe_models.Invoice.sync_from_stripe_data(stripe_invoice)
    assert invoice.subscription == subscription and invoice.amount_due == 2900
    charge = djstripe_models.Charge.sync_from_stripe_data(
        stripe.Charge.retrieve(stripe_invoice.charge)
    )
    assert charge.payment_intent.id == stripe_invoice.payment_intent

    refund = djstripe_models.Refund.sync_from_stripe_data(
        stripe.Refund.create(charge=stripe_invoice.charge, amount=900)
    )
    assert refund.charge == charge and refund.amount == 900

    account = stripe.Account.create(type="express", country="US")
    assert djstripe_models.Account.sync_from_stripe_data(stripe.Account.retrieve(account.id))

    stripe_standin.flush()
    event_data = stripe_standin.events("customer.subscription.created")[0]
    event = djstripe_models.Event.process(data=event_data)
    assert event.type == "customer.subscription.created"
    assert djstripe_models.Subscription.objects.get(id=session.subscription).status == "active"
