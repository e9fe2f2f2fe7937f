"""Customer contact data at rest: lookup hashes, normalization and masking; encryption
under the key list is apps.core.encryption's, re-exported here.

Exact-match lookups go through a keyed HMAC-SHA256 of the *normalized* value, so the
hash column reveals nothing without the key and equal addresses hash equally however
they were typed. That key is derived (HKDF) from `settings.PII_LOOKUP_KEY`, which does
not rotate with the encryption keys: a new one changes every hash, and the rows must be
rehashed (`rotate_encryption_keys --rehash`) before lookups find them again.

Only masked forms (`j***@e***.com`, `+44*******89`) may reach logs, admin lists or error
messages.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

import phonenumbers
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from apps.core.encryption import (
    KEY_ID_PATTERN,
    EncryptedColumns,
    InvalidToken,
    encrypted_columns,
    encrypted_columns_register,
    key_id,
    pii_decrypt,
    pii_encrypt,
    pii_key_ids,
    pii_reencrypt,
    token_key_id,
)
from apps.core.errors import FieldError, ValidationFailed

__all__ = [
    "KEY_ID_PATTERN",
    "EncryptedColumns",
    "InvalidToken",
    "email_normalize",
    "encrypted_columns",
    "encrypted_columns_register",
    "key_id",
    "lookup_hash",
    "mask_email",
    "mask_phone",
    "mask_text",
    "phone_normalize",
    "pii_decrypt",
    "pii_encrypt",
    "pii_key_ids",
    "pii_reencrypt",
    "token_key_id",
]

_LOOKUP_INFO = b"timenest:pii:lookup:v1"


# --- lookup hashes --------------------------------------------------------------------


@lru_cache(maxsize=4)
def _lookup_key(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LOOKUP_INFO).derive(
        secret.encode()
    )


def _lookup_secret() -> str:
    secret = str(settings.PII_LOOKUP_KEY or "")
    if not secret:
        raise ImproperlyConfigured("Set PII_LOOKUP_KEY (the key of the lookup hashes).")
    return secret


def lookup_hash(normalized_value: str) -> str:
    """Keyed hash for exact-match lookups; pass a value from `*_normalize`."""
    if not normalized_value:
        return ""
    digest = hmac.new(_lookup_key(_lookup_secret()), normalized_value.encode(), hashlib.sha256)
    return digest.hexdigest()


# --- normalization and masking --------------------------------------------------------


def email_normalize(value: str, *, field: str = "email") -> str:
    """Trimmed, lower-cased, syntactically valid address, or ValidationFailed."""
    email = (value or "").strip().lower()
    if not email:
        raise ValidationFailed(
            _("Enter an email address."), [FieldError(field, _("Enter an email."))]
        )
    try:
        validate_email(email)
    except ValidationError as exc:
        # The message never echoes the address back (it may end up in logs).
        raise ValidationFailed(
            _("Enter a valid email address."),
            [FieldError(field, _("Enter a valid email address."))],
        ) from exc
    return email


def phone_normalize(value: str, *, region: str | None = None, field: str = "phone") -> str:
    """E.164 (`+447911123489`). Without `region` the number must start with `+` and its
    country code; with one (ISO 3166 alpha-2, the business's country) it may also be
    written as in that country ("030 123456" for DE). An empty value stays empty (phone
    is optional)."""
    raw = (value or "").strip()
    if not raw:
        return ""
    message = phone_format_hint(region)
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationFailed(message, [FieldError(field, message)]) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed(message, [FieldError(field, message)])
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_examples(region: str | None) -> str | None:
    """An example number of `region` as written there and with its country code
    ("030 123456 or +49 30 123456"); None without a region the library knows."""
    example = phonenumbers.example_number(region.upper()) if region else None
    if example is None:
        return None
    return _("%(national)s or %(international)s") % {
        "national": phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL),
        "international": phonenumbers.format_number(
            example, phonenumbers.PhoneNumberFormat.INTERNATIONAL
        ),
    }


def phone_format_hint(region: str | None) -> str:
    """How to write a phone number: in `region`'s own format or with a country code."""
    examples = phone_examples(region)
    if examples is None:
        return "Enter a valid phone number with its country code, e.g. +44 20 7946 0958."
    return _("Enter a valid phone number, e.g. %(examples)s.") % {"examples": examples}


def mask_email(email: str) -> str:
    """`jane.doe@example.com` → `j***@e***.com`."""
    if not email or "@" not in email:
        return "***" if email else ""
    local, _, domain = email.rpartition("@")
    host, dot, tld = domain.rpartition(".")
    if not dot:
        host, tld = domain, ""
    masked_domain = f"{host[:1]}***" + (f".{tld}" if tld else "")
    return f"{local[:1]}***@{masked_domain}"


def mask_phone(phone: str) -> str:
    """`+447911123489` → `+44********89`: country code and the last two digits."""
    if not phone:
        return ""
    digits = phone.lstrip("+")
    try:
        country = str(phonenumbers.parse(phone, None).country_code)
    except phonenumbers.NumberParseException:
        country = ""
    if not country or not digits.startswith(country) or len(digits) <= len(country) + 2:
        return "*" * max(len(phone) - 2, 1) + phone[-2:]
    hidden = len(digits) - len(country) - 2
    return f"+{country}{'*' * hidden}{digits[-2:]}"


def mask_text(value: str) -> str:
    """Masks a free-text label that may be an email address or a phone number."""
    if "@" in value:
        return mask_email(value)
    if value.startswith("+") and value[1:].isdigit():
        return mask_phone(value)
    return value
