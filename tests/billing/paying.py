"""A business taking payments on its own Stripe account (the stand-in), a paid service
with free slots, and the steps of paying: the shared setting of the payment tests."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Tenant
from apps.billing.connect import account_connect_start, account_refresh
from apps.billing.models import StripeAccount
from apps.bookings.access_tokens import booking_access_token
from apps.bookings.actors import ActorRef
from apps.bookings.models import Booking
from apps.bookings.services import CustomerInput, booking_hold
from apps.core.tenancy import current_schema, use_tenant
from tests.bookings.factories import (
    LocationFactory,
    ResourceFactory,
    ServiceFactory,
    future_start,
    slots_create,
)

CONNECT_WEBHOOK = "/billing/stripe/connect/webhook/"
CUSTOMER = ActorRef.customer("", label="test")


def connected(tenant: Tenant, standin) -> StripeAccount:
    account_connect_start(
        tenant=tenant, email="owner@acme.test", return_url="http://x/", refresh_url="http://x/"
    )
    account = StripeAccount.objects.get(tenant=tenant)
    standin.account_onboard(account.account_id)
    refreshed = account_refresh(tenant)
    assert refreshed is not None and refreshed.charges_enabled
    return refreshed


def paid_setting(acme: Tenant, stripe_standin) -> dict:
    account = connected(acme, stripe_standin)
    location = LocationFactory.create(timezone="Europe/London")
    physio = ResourceFactory.create(name="Sam", location=location)
    service = ServiceFactory.create(
        name="Physiotherapy consultation",
        price=Decimal("60.00"),
        currency="GBP",
        requires_payment=True,
        resources=[physio],
    )
    slots = slots_create(resource=physio, starts_at=future_start(), count=4)
    return {"account": account, "service": service, "physio": physio, "slots": slots}


def hold(paid, index: int = 0) -> Booking:
    return booking_hold(
        service=paid["service"],
        resource=paid["physio"],
        starts_at=paid["slots"][index].starts_at,
        customer=CustomerInput(name="Ann Lee", email="ann@example.com"),
        actor=CUSTOMER,
    )


def deliver(standin, event, secret: str | None = None):
    payload, signature = standin.signed_event(
        event, secret or settings.STRIPE_CONNECT_WEBHOOK_SECRET
    )
    # A request on the root domain moves this thread's connection to public.
    tenant = Tenant.objects.get(schema_name=current_schema())
    try:
        return Client(HTTP_HOST="localhost").post(
            CONNECT_WEBHOOK,
            data=payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature,
        )
    finally:
        use_tenant(tenant)


def pay_through_the_page(standin, acme_host, booking):
    token = booking_access_token(booking_id=booking.pk)
    response = Client(HTTP_HOST=acme_host).post(reverse("booking:pay", args=[token]))
    assert response.status_code == 303
    assert response["Location"].startswith(standin.url)
    session_id = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    return session_id
