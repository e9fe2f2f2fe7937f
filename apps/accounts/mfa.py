"""Second factors of a person (global, public schema): a TOTP authenticator app, and
single-use backup codes for when the phone is lost. The admin sites ask for one of them
after the password; the staff API token asks admins for a TOTP code."""

from __future__ import annotations

import logging
import secrets

import qrcode
import qrcode.image.svg
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.errors import FieldError, ValidationFailed
from apps.accounts.models import User

logger = logging.getLogger(__name__)

AUTHENTICATOR_NAME = "Authenticator app"
BACKUP_NAME = "Backup codes"
BACKUP_CODE_COUNT = 10


def mfa_totp_device(*, user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


@transaction.atomic
def mfa_totp_start(*, user: User) -> TOTPDevice:
    """The unconfirmed authenticator this person is setting up (one at a time): made on
    first call, the same key shown again until it is confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)
    return device


@transaction.atomic
def mfa_totp_confirm(*, user: User, token: str) -> TOTPDevice:
    """Confirms the authenticator being set up when `token` is its current code."""
    device = (
        TOTPDevice.objects.select_for_update()
        .filter(user=user, confirmed=False)
        .order_by("id")
        .first()
    )
    cleaned = "".join((token or "").split())
    if device is None:
        raise ValidationFailed(
            "Nothing to confirm.", [FieldError("token", "Start the set-up again.")]
        )
    if not (cleaned.isdigit() and len(cleaned) == device.digits) or not device.verify_token(
        cleaned
    ):
        raise ValidationFailed(
            "The code did not match.",
            [FieldError("token", "That code did not match. Type the 6 digits the app shows now.")],
        )
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    logger.info("mfa.totp_confirmed", extra={"user_id": str(user.pk)})
    return device


@transaction.atomic
def mfa_backup_codes_replace(*, user: User, count: int = BACKUP_CODE_COUNT) -> list[str]:
    """A fresh set of single-use backup codes (the old ones stop working). Shown once."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=BACKUP_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [secrets.token_hex(4) for _ in range(count)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    logger.info("mfa.backup_codes_replaced", extra={"user_id": str(user.pk)})
    return codes


def totp_qr_svg(device: TOTPDevice) -> str:
    """The device's otpauth:// URL as an inline SVG QR code (no image request, no CDN)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    return image.to_string(encoding="unicode")
