"""Customer contact data at rest: encryption, lookup hashes, normalization and masking.

Email and phone are stored Fernet-encrypted (AES-128-CBC + HMAC-SHA256). Exact-match
lookups go through a keyed HMAC-SHA256 of the *normalized* value, so the hash column
reveals nothing without the key and equal addresses hash equally however they were typed.
Both keys are derived (HKDF, distinct `info`) from `settings.PII_ENCRYPTION_KEY`, so
rotating that one secret rotates both.

Only masked forms (`j***@e***.com`, `+44*******89`) may reach logs, admin lists or error
messages.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

import phonenumbers
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from apps.core.errors import FieldError, ValidationFailed

__all__ = [
    "InvalidToken",
    "email_normalize",
    "lookup_hash",
    "mask_email",
    "mask_phone",
    "mask_text",
    "phone_normalize",
    "pii_decrypt",
    "pii_encrypt",
]

_ENCRYPTION_INFO = b"timenest:pii:encryption:v1"
_LOOKUP_INFO = b"timenest:pii:lookup:v1"


def _derive(secret: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret.encode())


@lru_cache(maxsize=4)
def _fernet(secret: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_derive(secret, _ENCRYPTION_INFO)))


@lru_cache(maxsize=4)
def _lookup_key(secret: str) -> bytes:
    return _derive(secret, _LOOKUP_INFO)


def _secret() -> str:
    return str(settings.PII_ENCRYPTION_KEY)


def pii_encrypt(value: str) -> str:
    """Encrypts a value for storage; the empty string stays empty (nothing to hide)."""
    if not value:
        return ""
    return _fernet(_secret()).encrypt(value.encode()).decode()


def pii_decrypt(token: str) -> str:
    """Raises `InvalidToken` when the token was not made with the current key."""
    if not token:
        return ""
    return _fernet(_secret()).decrypt(token.encode()).decode()


def lookup_hash(normalized_value: str) -> str:
    """Keyed hash for exact-match lookups; pass a value from `*_normalize`."""
    if not normalized_value:
        return ""
    digest = hmac.new(_lookup_key(_secret()), normalized_value.encode(), hashlib.sha256)
    return digest.hexdigest()


def email_normalize(value: str, *, field: str = "email") -> str:
    """Trimmed, lower-cased, syntactically valid address, or ValidationFailed."""
    email = (value or "").strip().lower()
    if not email:
        raise ValidationFailed("Enter an email address.", [FieldError(field, "Enter an email.")])
    try:
        validate_email(email)
    except ValidationError as exc:
        # The message never echoes the address back (it may end up in logs).
        raise ValidationFailed(
            "Enter a valid email address.", [FieldError(field, "Enter a valid email address.")]
        ) from exc
    return email


def phone_normalize(value: str, *, region: str | None = None, field: str = "phone") -> str:
    """E.164 (`+447911123489`). Without `region` the number must start with `+` and its
    country code; an empty value stays empty (phone is optional)."""
    raw = (value or "").strip()
    if not raw:
        return ""
    message = "Enter a valid phone number with its country code, e.g. +44 20 7946 0958."
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationFailed(message, [FieldError(field, message)]) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed(message, [FieldError(field, message)])
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


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
