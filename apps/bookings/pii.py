"""Customer contact data at rest: encryption, lookup hashes, normalization and masking.

Email and phone (and whatever else registers its columns here: webhook secrets and
bodies, stored idempotent answers) are stored Fernet-encrypted (AES-128-CBC +
HMAC-SHA256) under a list of keys, `settings.PII_ENCRYPTION_KEYS`, newest first: the
first encrypts, every one decrypts. A stored token names the key that made it,
`<key id>:<Fernet token>`, the key id being the first 8 hex digits of a SHA-256 of the
key: so "which values still use the old key" is a query on the column, and
`manage.py rotate_encryption_keys` can skip what it already moved and say when an old
key may be removed. (MultiFernet's trial decryption alone would have to decrypt every
value with every key to answer that.) Tokens without a key id were written before key
lists; they are tried with every configured key.

Exact-match lookups go through a keyed HMAC-SHA256 of the *normalized* value, so the
hash column reveals nothing without the key and equal addresses hash equally however
they were typed. That key is derived (HKDF) from `settings.PII_LOOKUP_KEY`, which does
not rotate with the encryption keys: a new one changes every hash, and the rows must be
rehashed (`rotate_encryption_keys --rehash`) before lookups find them again.

Only masked forms (`j***@e***.com`, `+44*******89`) may reach logs, admin lists or error
messages.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email

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
_KEY_ID_INFO = b"timenest:pii:key-id:v1"
# A stored token: `<8 hex digits>:<Fernet token>`. Fernet tokens are URL-safe base64,
# which has no ":", so the prefix cannot be mistaken for part of a token.
KEY_ID_PATTERN = r"^[0-9a-f]{8}:"
_KEY_ID = re.compile(KEY_ID_PATTERN)
_KEY_ID_LENGTH = 8


# --- keys -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Keyring:
    primary_id: str
    primary: Fernet
    by_id: dict[str, Fernet]
    # Tokens written before key ids: tried with every key, newest first.
    any_key: MultiFernet


def _key_bytes(key: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(key.encode())
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ImproperlyConfigured(
            "Each PII_ENCRYPTION_KEYS entry must be a Fernet key (32 bytes, URL-safe "
            "base64): `python -m config.pii_keys new-key` makes one."
        )
    return raw


def key_id(key: str) -> str:
    """The short id a token made with this Fernet key carries (not secret)."""
    digest = hashlib.sha256(_KEY_ID_INFO + _key_bytes(key)).hexdigest()
    return digest[:_KEY_ID_LENGTH]


def _configured_keys() -> tuple[str, ...]:
    keys = settings.PII_ENCRYPTION_KEYS
    if isinstance(keys, str):
        keys = keys.split(",")
    found = tuple(key.strip() for key in keys if key.strip())
    if not found:
        raise ImproperlyConfigured(
            "Set PII_ENCRYPTION_KEYS: Fernet keys, comma-separated, newest first."
        )
    return found


# Keyed by the configured keys themselves, so a changed setting (a deploy, or
# override_settings in a test) never meets a stale keyring.
@lru_cache(maxsize=8)
def _keyring(keys: tuple[str, ...]) -> _Keyring:
    fernets = [Fernet(base64.urlsafe_b64encode(_key_bytes(key))) for key in keys]
    ids = [key_id(key) for key in keys]
    if len(set(ids)) != len(ids):
        raise ImproperlyConfigured("PII_ENCRYPTION_KEYS lists a key twice.")
    return _Keyring(
        primary_id=ids[0],
        primary=fernets[0],
        by_id=dict(zip(ids, fernets, strict=True)),
        any_key=MultiFernet(fernets),
    )


def _current_keyring() -> _Keyring:
    return _keyring(_configured_keys())


def pii_key_ids() -> list[str]:
    """The ids of the configured keys, newest (the one that encrypts) first."""
    return [key_id(key) for key in _configured_keys()]


def token_key_id(token: str) -> str | None:
    """The id of the key a stored token was made with; None for a token written before
    key ids (or a value that is no token at all)."""
    match = _KEY_ID.match(token)
    return match.group(0)[:-1] if match else None


# --- encryption -----------------------------------------------------------------------


def pii_encrypt(value: str) -> str:
    """Encrypts a value for storage with the newest key; the empty string stays empty
    (nothing to hide)."""
    if not value:
        return ""
    keyring = _current_keyring()
    return f"{keyring.primary_id}:{keyring.primary.encrypt(value.encode()).decode()}"


def pii_decrypt(token: str) -> str:
    """Raises `InvalidToken` when no configured key made the token (its key was removed,
    or it is not a token)."""
    if not token:
        return ""
    keyring = _current_keyring()
    kid = token_key_id(token)
    if kid is None:
        return keyring.any_key.decrypt(token.encode()).decode()
    fernet = keyring.by_id.get(kid)
    if fernet is None:
        raise InvalidToken
    return fernet.decrypt(token[_KEY_ID_LENGTH + 1 :].encode()).decode()


def pii_reencrypt(token: str) -> str:
    """The same value under the newest key; a token already under it (or an empty one)
    comes back unchanged. Raises `InvalidToken` like `pii_decrypt`: a value that cannot
    be read is never encrypted again as if it were clear text."""
    if not token or token_key_id(token) == _current_keyring().primary_id:
        return token
    return pii_encrypt(pii_decrypt(token))


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


# --- which columns hold tokens ----------------------------------------------------------


@dataclass(frozen=True)
class EncryptedColumns:
    """A model's columns that hold `pii_encrypt` tokens, and its lookup-hash columns with
    the encrypted column each one hashes (its clear value, as stored: normalized)."""

    model: str  # "app_label.ModelName"
    fields: tuple[str, ...]
    lookup_hashes: Mapping[str, str]


_REGISTRY: dict[str, EncryptedColumns] = {}


def encrypted_columns_register(
    model: str, *, fields: Sequence[str], lookup_hashes: Mapping[str, str] | None = None
) -> None:
    """Called from an AppConfig.ready() for every model with encrypted columns, so key
    rotation reaches them without this app importing the apps above it."""
    _REGISTRY[model] = EncryptedColumns(
        model=model, fields=tuple(fields), lookup_hashes=dict(lookup_hashes or {})
    )


def encrypted_columns() -> list[EncryptedColumns]:
    return [_REGISTRY[label] for label in sorted(_REGISTRY)]


# --- normalization and masking --------------------------------------------------------


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
