"""Second factors of a person (global, public schema): a TOTP authenticator app, and
single-use backup codes for when the phone is lost. The admin sites ask for one of them
after the password; so do the tenant dashboard and the staff API token.

Who must pass one (PRODUCT.md §4.8): a business's admins always (an admin without a factor
sets one up before the dashboard opens), and anybody who has set one up. A session
passes once; logging out forgets it. One exception: while a business has not gone live,
its admins may open the dashboard's set-up screens before setting one up
(`mfa_enrol_deferred`); the first-day checklist asks for it before the business goes live
or another admin is invited."""

from __future__ import annotations

import logging
import secrets

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from apps.accounts.models import AuthenticatorDevice, Membership, User
from apps.core.errors import FieldError, ValidationFailed

logger = logging.getLogger(__name__)

AUTHENTICATOR_NAME = "Authenticator app"
BACKUP_NAME = "Backup codes"
BACKUP_CODE_COUNT = 10


MFA_ENROL = "enrol"
MFA_VERIFY = "verify"


def mfa_session_verified(user: object) -> bool:
    """Whether this request's person passed a second factor in this session (django_otp's
    middleware gives the request's user `is_verified`)."""
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified is not None and is_verified())


def mfa_has_factor(user: User) -> bool:
    """Whether this person can pass a second factor: a confirmed authenticator, or an
    unused backup code (a set of spent codes, or an authenticator support removed,
    leaves a person who must set one up, not one who is asked for what they lack)."""
    return (
        AuthenticatorDevice.objects.filter(user=user, confirmed=True).exists()
        or StaticToken.objects.filter(device__user=user, device__confirmed=True).exists()
    )


def mfa_step_pending(*, user: User, membership: Membership) -> str | None:
    """What this signed-in member still owes before the business's staff pages open:
    `MFA_VERIFY` (they have a factor and this session has not passed it), `MFA_ENROL`
    (an admin with no factor yet) or None."""
    if mfa_session_verified(user):
        return None
    if mfa_has_factor(user):
        return MFA_VERIFY
    if membership.role == Membership.Role.ADMIN:
        return MFA_ENROL
    return None


def mfa_enrol_deferred(*, membership: Membership) -> bool:
    """Whether an admin who owes `MFA_ENROL` may still open the dashboard's set-up screens:
    only while the business has not gone live (it takes no bookings, holds no customers).
    Going live and inviting another admin both require the factor first; a factor set
    up is always asked for (`MFA_VERIFY` is never deferred)."""
    return membership.role == Membership.Role.ADMIN and membership.tenant.live_at is None


def mfa_verify(*, user: User, code: str) -> Device:
    """The device that accepts `code`: the authenticator's current code or an unused
    backup code (which is then spent). django-otp slows repeated wrong guesses down."""
    cleaned = "".join((code or "").split())
    if not cleaned:
        raise ValidationFailed(
            gettext("Type a code."),
            [FieldError("code", gettext("Type the 6 digits your app shows now."))],
        )
    if _mfa_throttled(user):
        raise ValidationFailed(
            gettext("Too many wrong codes."),
            [
                FieldError(
                    "code",
                    gettext("Too many wrong codes in a row: wait a few seconds, then try again."),
                )
            ],
        )
    device = mfa_token_match(user=user, code=cleaned)
    if device is None:
        logger.info("mfa.verify_failed", extra={"user_id": str(user.pk)})
        raise ValidationFailed(
            gettext("The code did not match."),
            [
                FieldError(
                    "code",
                    gettext(
                        "That code did not match. Type the 6 digits the app shows now, "
                        "or one of your backup codes."
                    ),
                )
            ],
        )
    return device


def _mfa_throttled(user: User) -> bool:
    """Whether the authenticator refuses codes for now after wrong guesses (django-otp
    doubles the wait after each failure); said plainly instead of "did not match"."""
    return any(
        not device.verify_is_allowed()[0]
        for device in AuthenticatorDevice.objects.filter(user=user, confirmed=True)
    )


def mfa_totp_device(*, user: User) -> AuthenticatorDevice | None:
    return AuthenticatorDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


@transaction.atomic
def mfa_totp_start(*, user: User, pending_id: int | None = None) -> AuthenticatorDevice:
    """The unconfirmed authenticator one sign-in session is setting up: `pending_id` (kept
    in that session) while it is still this person's and unconfirmed, else a new one with
    a new key. A key is never shown to two sessions, so whoever has only the password
    cannot read the key the real person is about to scan."""
    if pending_id is not None:
        device = AuthenticatorDevice.objects.filter(
            pk=pending_id, user=user, confirmed=False
        ).first()
        if device is not None:
            return device
    return AuthenticatorDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)


@transaction.atomic
def mfa_totp_confirm(*, user: User, pending_id: int | None, token: str) -> AuthenticatorDevice:
    """Confirms the authenticator this session is setting up when `token` is its current
    code; any other set-up left unconfirmed (another session's) is dropped."""
    device = (
        AuthenticatorDevice.objects.select_for_update()
        .filter(pk=pending_id, user=user, confirmed=False)
        .first()
        if pending_id is not None
        else None
    )
    cleaned = "".join((token or "").split())
    if device is None:
        raise ValidationFailed(
            gettext("Nothing to confirm."),
            [FieldError("token", gettext("Start the set-up again."))],
        )
    if not (cleaned.isdigit() and len(cleaned) == device.digits) or not device.verify_token(
        cleaned
    ):
        raise ValidationFailed(
            gettext("The code did not match."),
            [
                FieldError(
                    "token",
                    gettext("That code did not match. Type the 6 digits the app shows now."),
                )
            ],
        )
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    AuthenticatorDevice.objects.filter(user=user, confirmed=False).delete()
    logger.info("mfa.totp_confirmed", extra={"user_id": str(user.pk)})
    return device


# Backup codes: 12 symbols of a 32-letter alphabet without look-alikes (60 bits), shown
# as three groups of four. Only a keyed digest of each is stored (16 hex digits, what
# django-otp's token column holds), so a copy of the database reveals no usable code.
# The key is SECRET_KEY: rotating it without a fallback retires every backup code.
BACKUP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
BACKUP_CODE_LENGTH = 12
_BACKUP_SALT = "timenest.accounts.mfa.backup-code"


def backup_code_new() -> str:
    code = "".join(secrets.choice(BACKUP_ALPHABET) for _ in range(BACKUP_CODE_LENGTH))
    return "-".join(code[i : i + 4] for i in range(0, BACKUP_CODE_LENGTH, 4))


def backup_code_digests(code: str) -> list[str]:
    """What a typed backup code is stored as, under the current key and each fallback
    (spaces, hyphens and letter case do not matter)."""
    normalized = "".join(code.split()).replace("-", "").upper()
    return [
        salted_hmac(_BACKUP_SALT, normalized, secret=secret, algorithm="sha256").hexdigest()[:16]
        for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    ]


def is_authenticator_code(code: str) -> bool:
    """Six digits: a code from the authenticator app; anything else is a backup code."""
    cleaned = "".join((code or "").split())
    return cleaned.isdigit() and len(cleaned) == 6


def mfa_token_match(*, user: User, code: str) -> Device | None:
    """The device that accepts `code` (a backup code is then spent), asking only the
    kind of device the code's shape names, so a guess never counts against the other."""
    cleaned = "".join((code or "").split())
    if not cleaned:
        return None
    if is_authenticator_code(cleaned):
        for totp_device in AuthenticatorDevice.objects.filter(user=user, confirmed=True):
            if totp_device.verify_token(cleaned):
                return totp_device
        return None
    for static_device in StaticDevice.objects.filter(user=user, confirmed=True):
        if any(static_device.verify_token(d) for d in backup_code_digests(cleaned)):
            return static_device
    return None


@transaction.atomic
def mfa_backup_codes_replace(*, user: User, count: int = BACKUP_CODE_COUNT) -> list[str]:
    """A fresh set of single-use backup codes (the old ones stop working). Shown once;
    only their digests are kept."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=BACKUP_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [backup_code_new() for _ in range(count)]
    StaticToken.objects.bulk_create(
        StaticToken(device=device, token=backup_code_digests(code)[0]) for code in codes
    )
    logger.info("mfa.backup_codes_replaced", extra={"user_id": str(user.pk)})
    return codes


def totp_qr_svg(device: AuthenticatorDevice) -> str:
    """The device's otpauth:// URL as an inline SVG QR code (no image request, no CDN)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    return image.to_string(encoding="unicode")
