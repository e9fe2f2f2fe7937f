"""Writes for tenants, users and memberships."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone as django_timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from apps.accounts.models import Domain, Membership, SignupRequest, Tenant, User
from apps.accounts.provisioning import schema_constraint_names_restore
from apps.accounts.schema_pool import schema_pool_fill_after_commit
from apps.accounts.signals import tenant_settings_changed, tenant_went_live
from apps.accounts.subdomains import schema_name_for, slug_problems
from apps.core.errors import FieldError, ValidationFailed
from apps.core.languages import is_language, language_check, language_codes
from apps.core.tenancy import current_schema, use_public_schema
from apps.core.timezones import is_timezone

logger = logging.getLogger(__name__)


def _tenant_field_errors(*, slug: str, name: str, timezone: str) -> list[FieldError]:
    errors = [FieldError("slug", message) for message in slug_problems(slug)]
    if not errors and (
        Tenant.objects.filter(slug=slug).exists()
        or Tenant.objects.filter(schema_name=schema_name_for(slug)).exists()
    ):
        errors.append(
            FieldError(
                "slug", _("“%(slug)s” is already taken. Try another subdomain.") % {"slug": slug}
            )
        )
    if not name.strip():
        errors.append(FieldError("name", _("Enter the name of your business.")))
    elif len(name) > 120:
        errors.append(FieldError("name", _("Keep the name under 120 characters.")))
    if not is_timezone(timezone):
        errors.append(
            FieldError("timezone", _("“%(zone)s” is not a known time zone.") % {"zone": timezone})
        )
    return errors


@transaction.atomic
def tenant_create(
    *,
    slug: str,
    name: str,
    owner: User,
    timezone: str = "UTC",
    locale: str = "en",
    live: bool = True,
) -> Tenant:
    """Create a tenant whole or not at all: schema (cloned from the template), primary
    domain and the owner's admin membership commit together. PostgreSQL DDL is
    transactional, so a failure anywhere also rolls back the new schema.

    `live=False` (self-serve signup) opens it not live: it takes no bookings until an
    admin goes live from the first-day checklist (apps/calendars/first_day.py)."""
    slug = slug.strip().lower()
    errors = _tenant_field_errors(slug=slug, name=name, timezone=timezone)
    if errors:
        raise ValidationFailed(_("The business could not be created."), errors)

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
        live_at=django_timezone.now() if live else None,
    )
    try:
        with transaction.atomic():
            tenant.save(verbosity=0)
            schema_constraint_names_restore(schema_name=tenant.schema_name)
    except IntegrityError as exc:  # lost a race for the same slug
        raise ValidationFailed(
            _("The business could not be created."),
            [
                FieldError(
                    "slug",
                    _("“%(slug)s” is already taken. Try another subdomain.") % {"slug": slug},
                )
            ],
        ) from exc
    Domain.objects.create(domain=f"{slug}.{settings.BASE_DOMAIN}", tenant=tenant, is_primary=True)
    # It may have taken a spare schema: another is copied after the commit.
    schema_pool_fill_after_commit()
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


def _signup_errors(
    *, business_name: str, slug: str, email: str, password: str, timezone: str
) -> list[FieldError]:
    """Every problem with a signup, found the same way whether or not an account uses
    `email` (the password is judged by the rules alone, never against an account)."""
    errors = _tenant_field_errors(slug=slug, name=business_name, timezone=timezone)
    try:
        validate_password(password, User(email=email))
    except ValidationError as exc:
        errors.extend(FieldError("password", message) for message in exc.messages)
    return errors


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def signup_request(
    *,
    business_name: str,
    slug: str,
    email: str,
    password: str,
    timezone: str,
    confirm_url: Callable[[str], str],
    login_url: str,
) -> str | None:
    """Self-serve signup, first step. The answer never tells whether an account uses
    `email`: both cases hash the password and send one email. A new address gets a link
    (`confirm_url(token)`) that creates the business and signs its owner in; a known
    address gets a note on how to add a business to that account instead (`login_url`).
    Returns the link's token (None for a known address), for the caller's tests."""
    email = email.strip().lower()
    slug = slug.strip().lower()
    errors = _signup_errors(
        business_name=business_name, slug=slug, email=email, password=password, timezone=timezone
    )
    if errors:
        raise ValidationFailed(_("Please correct the errors below."), errors)
    password_hash = make_password(password)
    SignupRequest.objects.filter(created_at__lt=_signup_link_oldest()).delete()
    if User.objects.filter(email=email).exists():
        body = render_to_string(
            "accounts/emails/signup_known.txt",
            {"business_name": business_name.strip(), "login_url": login_url},
        )
        subject = _("Adding a business to your TimeNest account")
        token = None
    else:
        token = secrets.token_urlsafe(32)
        SignupRequest.objects.create(
            token_hash=_token_hash(token),
            email=email,
            password_hash=password_hash,
            business_name=business_name.strip(),
            slug=slug,
            timezone=timezone,
        )
        body = render_to_string(
            "accounts/emails/signup_confirm.txt",
            {
                "business_name": business_name.strip(),
                "link": confirm_url(token),
                "hours": settings.SIGNUP_LINK_HOURS,
            },
        )
        subject = _("Confirm your email to open %(business)s on TimeNest") % {
            "business": business_name.strip()
        }
    transaction.on_commit(lambda: send_mail(str(subject), body, None, [email]))
    logger.info("signup.requested", extra={"slug": slug})
    return token


def _signup_link_oldest() -> datetime:
    return django_timezone.now() - timedelta(hours=settings.SIGNUP_LINK_HOURS)


class SignupLinkInvalid(ValidationFailed):
    code = "SIGNUP_LINK_INVALID"


@transaction.atomic
def signup_confirm(*, token: str) -> tuple[Tenant, User]:
    """Second step: the link in the email was opened. Creates the owner's account and
    the business whole or not at all; a link works once and for SIGNUP_LINK_HOURS."""
    pending = (
        SignupRequest.objects.select_for_update()
        .filter(token_hash=_token_hash(token or ""), created_at__gte=_signup_link_oldest())
        .first()
    )
    if pending is None or pending.confirmed_at is not None:
        raise SignupLinkInvalid(
            _("This link has expired or was already used. Sign up again, or sign in.")
        )
    pending.confirmed_at = django_timezone.now()
    pending.save(update_fields=["confirmed_at"])
    if User.objects.filter(email=pending.email).exists():
        raise SignupLinkInvalid(
            _("An account now uses this address: sign in, then add the business from there.")
        )
    # Opening the emailed link is what confirms the address.
    user = User(
        email=pending.email,
        password=pending.password_hash,
        email_confirmed_at=pending.confirmed_at,
    )
    user.save()
    tenant = tenant_create(
        slug=pending.slug,
        name=pending.business_name,
        owner=user,
        timezone=pending.timezone,
        live=False,
    )
    return tenant, user


# The signup link is opened on the root domain, whose session cookie the business's own
# host never sees (sessions are host-only). The owner crosses over with a short-lived
# token: signed, naming the person and the business, and spent by the sign-in it makes,
# because it hashes the person's last sign-in time (as Django's password-reset tokens do).
_WELCOME_SALT = "timenest.accounts.signup-welcome"
WELCOME_TOKEN_SECONDS = 300


def _welcome_fingerprint(user: User) -> str:
    last_login = "" if user.last_login is None else user.last_login.isoformat()
    return salted_hmac(
        _WELCOME_SALT, f"{user.pk}:{user.password}:{last_login}", algorithm="sha256"
    ).hexdigest()[:32]


def signup_welcome_token(*, user: User, tenant: Tenant) -> str:
    """A token that signs `user` in once on `tenant`'s own host, for a few minutes."""
    return signing.dumps(
        {"user": str(user.pk), "schema": tenant.schema_name, "fp": _welcome_fingerprint(user)},
        salt=_WELCOME_SALT,
        compress=True,
    )


def signup_welcome_read(*, token: str, tenant: Tenant) -> User:
    """The person a welcome token signs in on `tenant`; SignupLinkInvalid when it is
    altered, too old, for another business, or already used."""
    refused = SignupLinkInvalid(
        _("This sign-in link has expired or was already used. Sign in with your password.")
    )
    try:
        data = signing.loads(token, salt=_WELCOME_SALT, max_age=WELCOME_TOKEN_SECONDS)
    except signing.BadSignature:
        raise refused from None
    if not isinstance(data, dict) or data.get("schema") != tenant.schema_name:
        raise refused
    user = User.objects.filter(pk=str(data.get("user")), is_active=True).first()
    if user is None or not constant_time_compare(
        str(data.get("fp", "")), _welcome_fingerprint(user)
    ):
        raise refused
    if not Membership.objects.filter(user=user, tenant=tenant).exists():
        raise refused
    return user


def user_email_confirmed(*, user: User) -> None:
    """The person opened a link sent to their address (kept once; later links change
    nothing)."""
    if user.email_confirmed_at is None:
        user.email_confirmed_at = django_timezone.now()
        user.save(update_fields=["email_confirmed_at"])


def user_language_set(*, user: User, language: str) -> None:
    """The language of the person's own dashboard ("": their browser's). An unknown
    code is refused (ValidationFailed on `language`)."""
    if language:
        language_check(language)
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
        logger.info("user.language_set", extra={"user_id": str(user.pk), "language": language})


@transaction.atomic
def tenant_live_mark(*, tenant: Tenant) -> bool:
    """Marks the business live (once; False when it already was). Callers check that it
    is ready first: apps/calendars/first_day.py `business_go_live`."""
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if locked.live_at is not None:
        tenant.live_at = locked.live_at
        return False
    locked.live_at = tenant.live_at = django_timezone.now()
    locked.save(update_fields=["live_at", "updated_at"])
    tenant_went_live.send(sender=Tenant, tenant=locked)
    logger.info("tenant.went_live", extra={"tenant": tenant.slug})
    return True


def tenant_holidays_decided(*, tenant: Tenant) -> None:
    """Records that an admin answered the first-day offer of public holidays."""
    if tenant.holidays_decided_at is None:
        # Saved (not a bare UPDATE) so the tenant routing caches forget the old row.
        fresh = Tenant.objects.get(pk=tenant.pk)
        fresh.holidays_decided_at = tenant.holidays_decided_at = django_timezone.now()
        fresh.save(update_fields=["holidays_decided_at", "updated_at"])


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
    "locale",
)
_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_REMINDERS = 5


def _policy_errors(values: dict[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []

    # One whole sentence per unit, for translators.
    sentences = {
        "minutes": _("Enter a whole number of minutes from %(low)s to %(high)s."),
        "days": _("Enter a whole number of days from %(low)s to %(high)s."),
        "hours": _("Enter a whole number of hours from %(low)s to %(high)s."),
        "percent": _("Enter a whole number of percent from %(low)s to %(high)s."),
    }

    def bounded(field: str, low: int, high: int, unit: str) -> None:
        value = values[field]
        if not isinstance(value, int) or not low <= value <= high:
            errors.append(FieldError(field, sentences[unit] % {"low": low, "high": high}))

    if not is_language(values["locale"]):
        errors.append(
            FieldError(
                "locale",
                _("“%(code)s” is not a language we speak. Choose one of: %(codes)s.")
                % {"code": values["locale"], "codes": ", ".join(language_codes())},
            )
        )
    if values["exposure_mode"] not in Tenant.ExposureMode.values:
        errors.append(FieldError("exposure_mode", _("Choose how slots are shown.")))
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
                _("The partial refund's deadline must not be earlier than the full refund's."),
            )
        )
    offsets = values["reminder_offsets_minutes"]
    if not isinstance(offsets, list) or not all(isinstance(o, int) for o in offsets):
        errors.append(FieldError("reminder_offsets_minutes", _("Enter minutes as whole numbers.")))
    elif len(offsets) > MAX_REMINDERS:
        errors.append(
            FieldError(
                "reminder_offsets_minutes",
                _("At most %(count)s reminders.") % {"count": MAX_REMINDERS},
            )
        )
    elif any(not 5 <= o <= 30 * 24 * 60 for o in offsets):
        errors.append(
            FieldError(
                "reminder_offsets_minutes",
                _("Each reminder must be between 5 minutes and 30 days before the appointment."),
            )
        )
    if not _HEX_COLOUR.match(str(values["accent_color"])):
        errors.append(FieldError("accent_color", _("Use a colour like #1d4ed8.")))
    if not str(values["name"]).strip():
        errors.append(FieldError("name", _("Enter the name of your business.")))
    if not is_timezone(values["timezone"]):
        errors.append(FieldError("timezone", _("Choose a time zone from the list.")))
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
        raise ValidationFailed(_("Please correct the settings below."), errors)
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
