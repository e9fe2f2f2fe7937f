"""Tenants, their domains, and the people who work in them (public schema)."""

from __future__ import annotations

import time
from base64 import b32encode
from binascii import unhexlify
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.crypto import salted_hmac
from django.utils.timezone import now
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP
from django_otp.util import random_hex
from django_tenants.clone import CloneSchema
from django_tenants.models import DomainMixin, TenantMixin
from django_tenants.postgresql_backend.base import _check_schema_name
from django_tenants.utils import get_creation_fakes_migrations, schema_exists

from apps.core.encryption import pii_decrypt, pii_encrypt
from apps.core.ids import uuid7
from apps.core.languages import validate_language
from apps.core.tenancy import search_path_forget, use_public_schema
from apps.core.timezones import validate_timezone


def default_reminder_offsets() -> list[int]:
    return [24 * 60, 60]


class Tenant(TenantMixin):
    """A business. `slug` is its subdomain; its data lives in schema `schema_name`."""

    class Status(models.TextChoices):
        TRIAL = "trial", "Trial"
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Past due"
        SUSPENDED = "suspended", "Suspended"
        # Closed by platform support (with a reason): served like a suspended business,
        # whatever its plan, until `tenant_purge` drops it (TENANT_PURGE_DELAY_DAYS).
        CLOSED = "closed", "Closed"

    class ExposureMode(models.TextChoices):
        ALL = "all", "Show every free slot"
        CURATED = "curated", "Show a curated few"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    # The business's default language (settings.LANGUAGES): its booking pages speak it to
    # a browser that asks for none of ours, and its bookings' messages when the booking
    # has none of its own (apps/core/languages.py).
    locale = models.CharField(max_length=16, default="en", validators=[validate_language])
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.TRIAL)
    # A plan code of apps/billing/plans.py; billing moves `plan` and `status` (a trial
    # ends at `trial_ends_at`; a business past due since `past_due_since` is suspended
    # after the grace period).
    plan = models.CharField(max_length=32, default="trial")
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    past_due_since = models.DateTimeField(null=True, blank=True)
    # False until the schema, domain and owner all exist; periodic work skips the tenant.
    is_ready = models.BooleanField(default=False)
    # Set by `tenant_close` (apps/accounts/services.py) with the agent's typed reason.
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.TextField(blank=True)
    # Set while platform support holds the business suspended (`tenant_suspend`,
    # apps/billing/services.py), with the agent's typed reason: it stays suspended
    # whatever billing says (a payment, the daily check) until support reactivates it.
    support_suspended_at = models.DateTimeField(null=True, blank=True)
    support_suspended_reason = models.TextField(blank=True)
    # A business opened by self-serve signup starts not live: its booking pages take no
    # bookings and its admins may open the dashboard before setting up two-step sign-in,
    # which the first-day checklist asks for before going live (apps/calendars/first_day.py).
    live_at = models.DateTimeField(null=True, blank=True)
    # When an admin answered the checklist's public-holidays offer (closures made or
    # declined): a decision, so it is recorded rather than computed.
    holidays_decided_at = models.DateTimeField(null=True, blank=True)

    # Booking policy (PRODUCT.md §3 "settings").
    exposure_mode = models.CharField(
        max_length=16, choices=ExposureMode.choices, default=ExposureMode.ALL
    )
    hold_ttl_minutes = models.PositiveSmallIntegerField(default=10)
    cancellation_window_minutes = models.PositiveIntegerField(default=24 * 60)
    min_notice_minutes = models.PositiveIntegerField(default=60)
    horizon_days = models.PositiveSmallIntegerField(default=90)
    reminder_offsets_minutes = ArrayField(
        models.PositiveIntegerField(), default=default_reminder_offsets, blank=True
    )
    # Refunds of paid bookings on cancellation: in full when cancelled at least
    # `refund_full_hours` before the start; `refund_partial_percent` when at least
    # `refund_partial_hours` before (0: no partial tier); nothing later.
    refund_full_hours = models.PositiveIntegerField(default=24)
    refund_partial_hours = models.PositiveIntegerField(default=0)
    refund_partial_percent = models.PositiveSmallIntegerField(default=50)

    # Branding shown on the booking pages and emails.
    accent_color = models.CharField(max_length=7, default="#1d4ed8")
    logo_url = models.URLField(blank=True)
    # The websites that may show the booking pages in a frame (the embeddable widget):
    # origins as apps/accounts/embed_origins.py normalizes them; none: no framing.
    embed_origins = ArrayField(models.CharField(max_length=255), default=list, blank=True)

    created_at = models.DateTimeField(default=now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    auto_create_schema = True
    # Deleting a row never drops a business: its schema holds years of audit trail. Only
    # `manage.py tenant_purge`, long after the business was closed, drops a schema.
    auto_drop_schema = False

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    @property
    def is_live(self) -> bool:
        return self.live_at is not None

    def create_schema(
        self, check_if_exists: bool = False, sync_schema: bool = True, verbosity: int = 1
    ) -> bool:
        """django-tenants' (the template cloned with its rows), but made by the owner's
        `public.tenant_schema_clone`, which takes a spare copy when one waits (apps/
        accounts/schema_pool.py) and clones otherwise: the role that serves requests may
        neither create a schema nor re-create django-tenants' clone function, as
        django-tenants' own clone would (apps/accounts/database_roles.py). Before that
        function is installed (a database `setup_database` has not run on yet),
        django-tenants' clone is used.

        django-tenants then runs `migrate_schemas --fake` on the copy, to record the
        migrations as applied and send post_migrate. Both are in the copy already: the
        template's `django_migrations` rows and content types come with its data. So that
        command is not run: it only loaded the migration graph and rendered every model's
        state, about half a second of each signup (tests/accounts/
        test_create_tenant_command.py checks that the copy has nothing left to apply)."""
        from apps.accounts.database_roles import tenant_clone_installed, tenant_schema_clone

        base_schema = self.get_base_schema() if get_creation_fakes_migrations() else None
        if not (sync_schema and base_schema and schema_exists(base_schema)):
            return bool(super().create_schema(check_if_exists, sync_schema, verbosity))
        _check_schema_name(self.schema_name)
        if check_if_exists and schema_exists(self.schema_name):
            return False
        if tenant_clone_installed():
            tenant_schema_clone(schema_name=self.schema_name)
        else:
            CloneSchema().clone_schema(base_schema, self.schema_name, self.clone_mode)
            search_path_forget()  # its SQL ends with a plain SET search_path
        use_public_schema()
        return True

    @property
    def email(self) -> str:
        """The business's billing contact, its first admin (dj-stripe's subscriber model
        needs an email)."""
        first_admin = (
            Membership.objects.filter(tenant=self, role=Membership.Role.ADMIN)
            .order_by("created_at")
            .values_list("user__email", flat=True)
            .first()
        )
        return first_admin or ""


class Domain(DomainMixin):
    """A host name served by a tenant (the public schema has `localhost`/BASE_DOMAIN)."""

    class Meta:
        ordering = ["domain"]


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


# (The stubs cannot see the reverse manager of AuthenticatorDevice.user: django-otp,
# untyped, declares that foreign key.)
class User(AbstractBaseUser, PermissionsMixin):  # type: ignore[django-manager-missing]
    """One global identity per person; email is the login. Staff = platform support."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=now)
    # Raised by "sign out everywhere": part of the session hash, so every session made
    # before no longer matches (0 keeps the hash Django computes, so no one was signed
    # out by this field's arrival).
    sessions_generation = models.PositiveIntegerField(default=0)
    # Set when the person opened a link sent to `email` (the signup link, a password
    # reset or an invitation's link): the first-day checklist's "confirmed email".
    email_confirmed_at = models.DateTimeField(null=True, blank=True)
    # The language of this person's dashboard ("": their browser's).
    language = models.CharField(max_length=8, blank=True, validators=[validate_language])

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.email.lower()

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        key_salt = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash"
        value = self.password
        if self.sessions_generation:
            value = f"{value}:{self.sessions_generation}"
        return salted_hmac(key_salt, value, secret=secret, algorithm="sha256").hexdigest()


class TenantWorkDue(models.Model):
    """When a business next has periodic work of one kind due (apps/accounts/due_work.py):
    beat sends that work only into businesses whose time has come, never into every one.

    Rows are written by the database: triggers on the tenant tables that make work due
    (a hold that will lapse, a message or webhook delivery to send) move `due_at` earlier
    in the writer's own transaction, so no code path can forget. The work, once done,
    sets the next due time it finds (or none)."""

    schema_name = models.CharField(max_length=63)
    # Named by the app that owns the work ("holds", "messages", "webhooks").
    kind = models.CharField(max_length=32)
    due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["schema_name", "kind"], name="tenant_work_due_unique")
        ]
        indexes = [
            models.Index(
                fields=["kind", "due_at"],
                name="tenant_work_due_idx",
                condition=models.Q(due_at__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.schema_name} {self.kind} @ {self.due_at}"


class SignupRequest(models.Model):
    """A signup waiting for its address to be confirmed (public schema). The link carries
    a random token; only its SHA-256 is kept, with the password already hashed."""

    token_hash = models.CharField(max_length=64, unique=True)
    email = models.EmailField()
    password_hash = models.CharField(max_length=128)
    business_name = models.CharField(max_length=120)
    slug = models.CharField(max_length=63)
    timezone = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=now)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"signup {self.slug} ({self.created_at:%Y-%m-%d %H:%M})"


class Membership(models.Model):
    """A person's role in one tenant. Roles nest: admin ⊃ manager ⊃ scheduler ⊃ frontdesk."""

    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MANAGER = "manager", "Manager"
        SCHEDULER = "scheduler", "Scheduler"
        FRONTDESK = "frontdesk", "Front desk"

    RANK: ClassVar[dict[str, int]] = {
        Role.FRONTDESK: 1,
        Role.SCHEDULER: 2,
        Role.MANAGER: 3,
        Role.ADMIN: 4,
    }

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(default=now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant", "user"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "tenant"], name="membership_unique_user_tenant"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant.slug} ({self.role})"

    def has_role(self, minimum: str) -> bool:
        return self.RANK[self.role] >= self.RANK[minimum]


def authenticator_key_new() -> str:
    """A new authenticator secret (20 random bytes, RFC 4226's recommended length),
    encrypted for storage."""
    return pii_encrypt(random_hex(20))


class AuthenticatorDevice(TimestampMixin, ThrottlingMixin, Device):
    """A TOTP authenticator app (RFC 6238) whose shared secret is kept encrypted at rest
    under the key list (apps.core.encryption; `rotate_encryption_keys` re-encrypts it),
    so a copy of the database gives nobody anyone's codes (ASVS 2.8.2 / 8.1).

    django-otp's own TOTPDevice keeps the secret as hex in clear in a 80-character column
    with no hook to encrypt it; this model is that device with `key_encrypted` in place
    of `key`, and the same algorithm (django_otp.oath.TOTP), throttling, drift and
    replay rule (a code's time step must be later than the last one accepted)."""

    key_encrypted = models.TextField(default=authenticator_key_new)
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):
        verbose_name = "authenticator app"

    @property
    def bin_key(self) -> bytes:
        """The shared secret; raises `InvalidToken` when no configured key made it."""
        return unhexlify(pii_decrypt(self.key_encrypted).encode())

    def get_throttle_factor(self) -> int:
        return int(getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1))

    def verify_token(self, token: Any) -> bool:
        if not self.verify_is_allowed()[0]:
            return False
        try:
            code = int(token)
        except (TypeError, ValueError):
            verified = False
        else:
            totp = TOTP(self.bin_key, self.step, self.t0, self.digits, self.drift)
            totp.time = time.time()
            verified = bool(totp.verify(code, self.tolerance, self.last_t + 1))
            if verified:
                self.last_t = totp.t()
                self.drift = totp.drift
                self.throttle_reset(commit=False)
                self.set_last_used_timestamp(commit=False)
                self.save()
        if not verified:
            self.throttle_increment(commit=True)
        return verified

    @property
    def config_url(self) -> str:
        """The otpauth:// URL an authenticator app scans (Key Uri Format)."""
        issuer = str(getattr(settings, "OTP_TOTP_ISSUER", "") or "").replace(":", "")
        label = f"{issuer}:{self.user.get_username()}" if issuer else self.user.get_username()
        params = {
            "secret": b32encode(self.bin_key).decode(),
            "algorithm": "SHA1",
            "digits": self.digits,
            "period": self.step,
        }
        if issuer:
            params["issuer"] = issuer
        return f"otpauth://totp/{quote(label)}?{urlencode(params, quote_via=quote)}"
