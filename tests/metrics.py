"""Reading `/metrics` as Prometheus would, and the booking flow that makes every series of
the dashboard and the alert rules exist (shared by tests/test_metrics*.py)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context
from prometheus_client.parser import text_string_to_metric_families

from apps.accounts.models import Tenant
from apps.billing.standin.webhooks import sign
from apps.bookings.models import Booking
from apps.bookings.services import holds_expire
from apps.core.rate_limits import rate_limit_wait
from apps.notifications.models import Notification
from apps.notifications.webhooks.models import WebhookDelivery
from apps.notifications.webhooks.services import webhook_endpoint_create
from tests.api.calls import Catalogue, hold

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples_parse(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def scrape(host: str = "localhost", **headers: Any) -> Samples:
    response = Client().get("/metrics", HTTP_HOST=host, **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return samples_parse(response.content.decode())


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 for a series that does not exist (yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def names(samples: Samples) -> set[str]:
    return {name for name, _labels in samples}


@dataclass
class OutboxFigures:
    due: int
    oldest_age_s: float
    failed: int


def outbox_figures_by_orm(model: type[Notification] | type[WebhookDelivery]) -> OutboxFigures:
    """What the scrape should say about one outbox, counted through the ORM in every
    ready business's schema (an independent reading of the same rows)."""
    now = timezone.now()
    due = failed = 0
    oldest = None
    tenants = Tenant.objects.filter(is_ready=True).exclude(schema_name=get_public_schema_name())
    for tenant in tenants:
        with schema_context(tenant.schema_name):
            rows = model._default_manager.filter(status="pending", next_attempt_at__lte=now)
            due += rows.count()
            first = rows.order_by("next_attempt_at").values_list("next_attempt_at", flat=True)
            candidate = first.first()
            if candidate is not None and (oldest is None or candidate < oldest):
                oldest = candidate
            failed += model._default_manager.filter(status="failed").count()
    age = (now - oldest).total_seconds() if oldest else 0.0
    return OutboxFigures(due=due, oldest_age_s=age, failed=failed)


@dataclass
class FlowResult:
    booking_id: str
    slots_shown: int


def booking_flow(
    *, catalogue: Catalogue, acme_host: str, receiver_url: str, capture: Any
) -> FlowResult:
    """Everything that makes a series: availability read twice (a cache miss, then a
    hit), a hold and its confirmation through the API (their webhooks and messages are
    sent on commit: tests run tasks eagerly), a second hold that runs out, a Stripe event
    and a forged one, a rate-limit refusal. Runs in
    acme's schema; `capture` is pytest-django's django_capture_on_commit_callbacks, so
    what counts after commit is counted."""
    webhook_endpoint_create(url=receiver_url, events=None, description="metrics")
    client = Client(HTTP_HOST=acme_host)
    query = {
        "service": str(catalogue.service.pk),
        "resource": str(catalogue.resource.pk),
        "date": catalogue.start.date().isoformat(),
    }
    first_read = client.get("/api/v1/slots", query)
    assert first_read.status_code == 200, first_read.content
    assert client.get("/api/v1/slots", query).status_code == 200

    with capture(execute=True):
        held = hold(client, catalogue, key=f"metrics-{uuid.uuid4().hex}")
    assert held.status_code == 201, held.content
    booking = held.json()
    with capture(execute=True):
        confirmed = client.post(
            f"/api/v1/bookings/{booking['id']}/confirm", HTTP_X_BOOKING_TOKEN=booking["token"]
        )
    assert confirmed.status_code == 200, confirmed.content

    with capture(execute=True):
        lapsing = hold(
            client, catalogue, key=f"metrics-{uuid.uuid4().hex}", slot=catalogue.slots[4]
        )
    assert lapsing.status_code == 201, lapsing.content
    Booking.objects.filter(pk=lapsing.json()["id"]).update(
        hold_expires_at=timezone.now() - timedelta(seconds=1)
    )
    with capture(execute=True):
        assert holds_expire() == 1

    event_id = f"evt_metrics_{uuid.uuid4().hex}"
    payload = json.dumps(
        {"id": event_id, "type": "customer.created", "livemode": False, "data": {"object": {}}}
    )
    root = Client(HTTP_HOST="localhost")
    signed = root.post(
        "/billing/stripe/webhook/",
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload, settings.STRIPE_WEBHOOK_SECRET),
    )
    assert signed.status_code == 200, signed.content
    forged = root.post(
        "/billing/stripe/webhook/",
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload, "whsec_not_ours"),
    )
    assert forged.status_code == 400

    ident = f"metrics-{uuid.uuid4().hex}"
    assert rate_limit_wait(scope="anon_booking", ident=ident, rate="1/min") is None
    assert rate_limit_wait(scope="anon_booking", ident=ident, rate="1/min") is not None

    # A 5xx-free run still has every status series the rules name: one 404.
    assert client.get("/api/v1/no-such-thing").status_code == 404
    return FlowResult(
        booking_id=booking["id"],
        slots_shown=len(first_read.json()["slots"]),
    )
