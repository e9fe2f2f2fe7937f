"""Writes for tenants, users and memberships."""

from __future__ import annotations

import logging
import time
import zoneinfo

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.accounts.errors import FieldError, ValidationFailed
from apps.accounts.models import Domain, Membership, Tenant, User
from apps.accounts.schemas import current_schema, use_public_schema
from apps.accounts.subdomains import schema_name_for, slug_problems

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
    if timezone not in zoneinfo.available_timezones():
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
    )
    try:
        with transaction.atomic():
            tenant.save(verbosity=0)
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
