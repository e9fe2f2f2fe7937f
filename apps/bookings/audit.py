"""Model history (django-auditlog) for the booking domain and the scheduling models it
depends on, and the actor of changes made outside a request.

Customer's encrypted and hashed contact columns, and the encrypted contact a booking
carries, are left out of the diffs: the audit log must not become a second copy of the
PII (nor of its lookup hashes); so is the name a booking was made with. A customer's
name is blanked (the diff says it changed, not from what to what), and an entry about a
customer is labelled by its id, not by its name (auditlog labels entries with
`str(instance)`); entries written before were blanked once by apps/audit/migrations/
0003. Slot rows are not audited: their counters change with every booking, whose own
history says why.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from auditlog.context import auditlog_value, set_actor
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Model
from django.db.models.signals import pre_save
from django_tenants.utils import get_public_schema_name

from apps.bookings.actors import ActorRef
from apps.bookings.models import Actor

CUSTOMER_PII_FIELDS = ["email_encrypted", "phone_encrypted", "email_hash", "phone_hash"]
# A booking's notes are free text the customer typed (often about them): not copied into
# an append-only history that erasure cannot reach.
BOOKING_PII_FIELDS = [
    "contact_name",
    "contact_email_encrypted",
    "contact_phone_encrypted",
    "notes",
    "answers_encrypted",
]
# A customer's name is blanked rather than left out: the history still shows it changed.
NAME_MASK = "apps.bookings.audit.audit_value_blank"


# The content types audit rows name, per business schema (and that business's row, so
# a schema made again under the same name is not mistaken for the old one).
_content_types_by_schema: dict[tuple[str, Any], dict[type[Model], ContentType]] = {}


def audit_content_types_load(*models: type[Model]) -> None:
    """Puts the content types the audit rows of a write will name into Django's cache:
    from this process's memory of the business's schema, else in one query.
    django-tenants empties Django's content-type cache at every schema switch (ids
    differ between schemas), so each request would otherwise look them up again; a
    schema's ids do not change once its tables exist."""
    tenant = getattr(connection, "tenant", None)
    schema = str(getattr(connection, "schema_name", ""))
    key = (schema, getattr(tenant, "pk", None))
    if schema == get_public_schema_name() or key[1] is None:
        ContentType.objects.get_for_models(*models)
        return
    known = _content_types_by_schema.setdefault(key, {})
    if all(model in known for model in models):
        for model in models:
            ContentType.objects._add_to_cache(ContentType.objects.db, known[model])  # type: ignore[attr-defined]
        return
    known.update(ContentType.objects.get_for_models(*models))


def _reverse_one_to_ones(model: type[Model]) -> list[str]:
    """The other side of one-to-one keys pointing at `model` (a booking's `review`, say):
    auditlog diffs them like fields, so each write would read the row behind each (one
    query apiece, mostly to learn there is none). They are that other model's to record."""
    return [
        field.name
        for field in model._meta.get_fields()
        if field.auto_created and not field.concrete and field.one_to_one
    ]


def audit_register() -> None:
    """Called from BookingsConfig.ready(); registering twice is harmless."""
    registrations: list[tuple[str, dict[str, Any]]] = [
        (
            "bookings.Customer",
            {
                "exclude_fields": CUSTOMER_PII_FIELDS,
                "mask_fields": ["name"],
                "mask_callable": NAME_MASK,
            },
        ),
        ("bookings.Booking", {"exclude_fields": BOOKING_PII_FIELDS}),
        # A series' rule (its dates are bookings, audited above); it holds no contact data.
        ("bookings.BookingSeries", {}),
        ("resources.Location", {}),
        ("resources.Resource", {}),
        ("resources.Service", {"m2m_fields": ["resources"]}),
        ("resources.IntakeQuestion", {}),
        ("calendars.AvailabilityRule", {}),
    ]
    for label, options in registrations:
        model = apps.get_model(label)
        if not auditlog.contains(model):
            excluded = [*options.get("exclude_fields", ()), *_reverse_one_to_ones(model)]
            auditlog.register(model, **(options | {"exclude_fields": excluded}))
    pre_save.connect(
        _customer_entry_label, sender=LogEntry, dispatch_uid="bookings.customer_entry_label"
    )


def audit_value_blank(value: str) -> str:
    """auditlog's mask for names: nothing of the value is kept."""
    return ""


def _customer_entry_label(sender: type[LogEntry], instance: LogEntry, **_: object) -> None:
    """auditlog writes `str(customer)`, the customer's name, as the entry's label, and
    offers no hook for it: the label of an entry about a customer is its id instead."""
    content_type = instance.content_type
    if (content_type.app_label, content_type.model) == ("bookings", "customer"):
        instance.object_repr = f"customer {instance.object_pk}"


@contextlib.contextmanager
def audit_actor(actor: ActorRef) -> Iterator[None]:
    """Attributes auditlog entries to the staff user behind `actor` in code that runs
    outside a request (Celery tasks, commands). Customers, API keys and the system have
    no user; their entries carry none. An enclosing context (the auditlog middleware's,
    when a task runs eagerly inside a request) is restored afterwards: auditlog's own
    context manager does not reset it."""
    user = None
    if actor.type == Actor.STAFF and actor.id:
        from apps.accounts.models import User

        user = User.objects.filter(pk=actor.id).first()
    if user is None:
        yield
        return
    previous = auditlog_value.get(None)
    try:
        with set_actor(user):
            yield
    finally:
        if previous is not None:
            auditlog_value.set(previous)
