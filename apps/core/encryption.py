"""Values encrypted at rest under a list of keys (`settings.PII_ENCRYPTION_KEYS`, newest
first: the first encrypts, every one decrypts), and the registry of the columns that
hold them, which `manage.py rotate_encryption_keys` walks in every schema.

A stored token names the key that made it, `<key id>:<Fernet token>` (Fernet:
AES-128-CBC + HMAC-SHA256), the key id being the first 8 hex digits of a SHA-256 of the
key; tokens without a key id were written before key lists and are tried with every
configured key. Customer contact data (apps.bookings.pii), webhook secrets and bodies,
stored idempotent answers and authenticator keys use it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "KEY_ID_PATTERN",
    "EncryptedColumns",
    "InvalidToken",
    "encrypted_columns",
    "encrypted_columns_register",
    "key_id",
    "pii_decrypt",
    "pii_encrypt",
    "pii_key_ids",
    "pii_reencrypt",
    "token_key_id",
]

_KEY_ID_INFO = b"timenest:pii:key-id:v1"
# A stored token: `<8 hex digits>:<Fernet token>`. Fernet tokens are URL-safe base64,
# which has no ":", so the prefix cannot be mistaken for part of a token.
KEY_ID_PATTERN = r"^[0-9a-f]{8}:"
_KEY_ID = re.compile(KEY_ID_PATTERN)
_KEY_ID_LENGTH = 8


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
