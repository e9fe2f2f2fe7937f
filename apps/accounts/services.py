"""Writes for tenants, users and memberships."""

from __future__ import annotations

import logging
import re
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone as django_timezone

from apps.accounts.models import Domain, Membership, Tenant, User
from apps.accounts.provisioning import schema_constraint_names_restore
from apps.accounts.signals import tenant_settings_changed
from apps.accounts.subdomains import schema_name_for, slug_problems
from apps.core.errors import FieldError, ValidationFailed
from apps.core.tenancy import current_schema, use_public_schema
from apps.core.timezones import is_timezone

logger = logging.getLogger(__name__)


def _tenant_field_errors(*, slug: str, name: str, timezone: str) -> list[FieldError]:
    errors = [FieldError("slug", message) for message in slug_problems(slug)]
    if not errors and (
        Tenant.objects.filter(slug=slug).exists()
        or Tenant.objects.filter(schema_name=schema_name_for(slug)).exists()
    ):
        errors.append(FieldError("slug", f"“{slug}” is already taken. Try another subdomain."))
    if not name.strip():
        errors.append(FieldError("name", "Enter the name of your business."))
    elif len(name) > 120:
        errors.append(FieldError("name", "Keep the name under 120 characters."))
    if not is_timezone(timezone):
        errors.append(FieldError("timezone", f"“{timezone}” is not a known time zone."))
    return errors


@transaction.atomic
def tenant_create(
    *, slug: str, name: str, owner: User, timezone: str = "UTC", locale: str = "en"
) -> Tenant:
    """Create a tenant whole or not at all: schema (cloned from the template), primary
    domain and the owner's admin membership commit together. PostgreSQL DDL is
    transactional, so a failure anywhere also rolls back the new schema."""
    slug = slug.strip().lower()
    errors = _tenant_field_errors(slug=slug, name=name, timezone=timezone)
    if errors:
        raise ValidationFailed("The business could not be created.", errors)

    started = time.perf_counter()
    if current_schema() != "public":
        use_public_schema()
    tenant = Tenant(
        slug=slug,
        schema_name=schema_name_for(slug),
        name=name.strip(),
        timezone=timezone,
        locale=locale,
        trial_ends_at=django_timezone.now() + timedelta(days=settings.BILLING_TRIAL_DAYS),
    )
    try:
        with transaction.atomic():
            tenant.save(verbosity=0)
            schema_constraint_names_restore(schema_name=tenant.schema_name)
    except IntegrityError as exc:  # lost a race for the same slug
        raise ValidationFailed(
            "The business could not be created.",
            [FieldError("slug", f"“{slug}” is already taken. Try another subdomain.")],
        ) from exc
    Domain.objects.create(domain=f"{slug}.{settings.BASE_DOMAIN}", tenant=tenant, is_primary=True)
    Membership.objects.create(user=owner, tenant=tenant, role=Membership.Role.ADMIN)
    tenant.is_ready = True
    tenant.save(update_fields=["is_ready", "updated_at"])
    logger.info(
        "tenant.created",
        extra={
            "tenant": slug,
            "schema": tenant.schema_name,
            "ms": round((time.perf_counter() - started) * 1000),
        },
    )
    return tenant


@transaction.atomic
def tenant_signup(
    *, business_name: str, slug: str, email: str, password: str, timezone: str
) -> tuple[Tenant, User]:
    """Self-serve signup: a new (or existing, if the password matches) user becomes the
    admin of a new tenant. Nothing is kept if any part fails."""
    email = email.strip().lower()
    slug = slug.strip().lower()
    errors = _tenant_field_errors(slug=slug, name=business_name, timezone=timezone)

    user = User.objects.filter(email=email).first()
    if user is not None:
        if authenticate(username=email, password=password) is None:
            errors.append(
                FieldError(
                    "email",
                    "An account with this email exists. Enter its password, or log in first.",
                )
            )
    else:
        try:
            validate_password(password, User(email=email))
        except ValidationError as exc:
            errors.extend(FieldError("password", message) for message in exc.messages)
    if errors:
        raise ValidationFailed("Please correct the errors below.", errors)

    if user is None:
        user = User.objects.create_user(email=email, password=password)
    tenant = tenant_create(slug=slug, name=business_name, owner=user, timezone=timezone)
    return tenant, user


POLICY_FIELDS = (
    "exposure_mode",
    "hold_ttl_minutes",
    "cancellation_window_minutes",
    "min_notice_minutes",
    "horizon_days",
    "reminder_offsets_minutes",
    "refund_full_hours",
    "refund_partial_hours",
    "refund_partial_percent",
    "accent_color",
    "logo_url",
    "name",
    "timezone",
)
_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_REMINDERS = 5


def _policy_errors(values: dict[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []

    def bounded(field: str, low: int, high: int, unit: str) -> None:
        value = values[field]
        if not isinstance(value, int) or not low <= value <= high:
            errors.append(
                FieldError(field, f"Enter a whole number of {unit} from {low} to {high}.")
            )

    if values["exposure_mode"] not in Tenant.ExposureMode.values:
        errors.append(FieldError("exposure_mode", "Choose how slots are shown."))
    bounded("hold_ttl_minutes", 1, 60, "minutes")
    bounded("cancellation_window_minutes", 0, 30 * 24 * 60, "minutes")
    bounded("min_notice_minutes", 0, 30 * 24 * 60, "minutes")
    bounded("horizon_days", 1, 365, "days")
    bounded("refund_full_hours", 0, 365 * 24, "hours")
    bounded("refund_partial_hours", 0, 365 * 24, "hours")
    bounded("refund_partial_percent", 0, 100, "percent")
    full, partial = values["refund_full_hours"], values["refund_partial_hours"]
    if isinstance(full, int) and isinstance(partial, int) and partial > full:
        errors.append(
            FieldError(
                "refund_partial_hours",
                "The partial refund's deadline must not be earlier than the full refund's.",
            )
        )
    offsets = values["reminder_offsets_minutes"]
    if not isinstance(offsets, list) or not all(isinstance(o, int) for o in offsets):
        errors.append(FieldError("reminder_offsets_minutes", "Enter minutes as whole numbers."))
    elif len(offsets) > MAX_REMINDERS:
        errors.append(FieldError("reminder_offsets_minutes", f"At most {MAX_REMINDERS} reminders."))
    elif any(not 5 <= o <= 30 * 24 * 60 for o in offsets):
        errors.append(
            FieldError(
                "reminder_offsets_minutes",
                "Each reminder must be between 5 minutes and 30 days before the appointment.",
            )
        )
    if not _HEX_COLOUR.match(str(values["accent_color"])):
        errors.append(FieldError("accent_color", "Use a colour like #1d4ed8."))
    if not str(values["name"]).strip():
        errors.append(FieldError("name", "Enter the name of your business."))
    if not is_timezone(values["timezone"]):
        errors.append(FieldError("timezone", "Choose a time zone from the list."))
    return errors


@transaction.atomic
def tenant_settings_update(*, tenant: Tenant, data: dict[str, Any]) -> set[str]:
    """Update the booking policy and branding; returns the names of the changed fields.
    Listeners of `tenant_settings_changed` (e.g. reminder planning) run in this
    transaction."""
    values = {field: getattr(tenant, field) for field in POLICY_FIELDS}
    values.update({k: v for k, v in data.items() if k in POLICY_FIELDS})
    if isinstance(values["reminder_offsets_minutes"], list):
        values["reminder_offsets_minutes"] = sorted(
            set(values["reminder_offsets_minutes"]), reverse=True
        )
    errors = _policy_errors(values)
    if errors:
        raise ValidationFailed("Please correct the settings below.", errors)
    changed = {field for field in POLICY_FIELDS if getattr(tenant, field) != values[field]}
    if not changed:
        return changed
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    for field in changed:
        setattr(locked, field, values[field])
        setattr(tenant, field, values[field])
    locked.save(update_fields=[*sorted(changed), "updated_at"])
    tenant_settings_changed.send(sender=Tenant, tenant=locked, changed=changed)
    logger.info("tenant.settings_changed", extra={"tenant": tenant.slug, "fields": sorted(changed)})
    return changed
