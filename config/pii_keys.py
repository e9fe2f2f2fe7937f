"""The keys of customer data at rest (apps/bookings/pii.py): the start-up check production
runs on them, and two helpers an operator runs without Django set up:

    python -m config.pii_keys new-key       # a fresh Fernet key for PII_ENCRYPTION_KEYS
    python -m config.pii_keys legacy-key    # reads the old secret on stdin

`legacy-key` gives the Fernet key the code used before key lists, derived (HKDF) from
PII_ENCRYPTION_KEY, or from SECRET_KEY when that was unset. Listed as a second key in
PII_ENCRYPTION_KEYS it decrypts the values written then, until
`manage.py rotate_encryption_keys` has moved them to the first key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import sys

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.core.exceptions import ImproperlyConfigured

# The derivations of the single-key era (apps/bookings/pii.py before key lists).
_LEGACY_ENCRYPTION_INFO = b"timenest:pii:encryption:v1"
_LEGACY_LOOKUP_INFO = b"timenest:pii:lookup:v1"
LOOKUP_KEY_MIN_LENGTH = 32


def _hkdf(secret: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret.encode())


def legacy_key_derive(secret: str) -> str:
    """The Fernet key the single-key code derived from `secret`."""
    return base64.urlsafe_b64encode(_hkdf(secret, _LEGACY_ENCRYPTION_INFO)).decode()


def _raw(key: str) -> bytes | None:
    try:
        raw = base64.urlsafe_b64decode(key.encode())
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 32 else None


def _secret_key_derivations(secret_key: str) -> set[bytes]:
    """32-byte keys anyone holding SECRET_KEY can compute: ours of old, and the usual
    recipes for turning a Django secret into a Fernet key."""
    encoded = secret_key.encode()
    return {
        _hkdf(secret_key, _LEGACY_ENCRYPTION_INFO),
        _hkdf(secret_key, _LEGACY_LOOKUP_INFO),
        hashlib.sha256(encoded).digest(),
        encoded[:32].ljust(32, b"\0"),
    }


def _shares_secret(value: str, secret_key: str) -> bool:
    """One contains the other (a short string inside a long one proves nothing)."""
    shorter, longer = sorted((value, secret_key), key=len)
    return value == secret_key or (len(shorter) >= 16 and shorter in longer)


def pii_keys_check(*, encryption_keys: list[str], lookup_key: str, secret_key: str) -> None:
    """Raises ImproperlyConfigured unless the customer-data keys are present, well formed
    and independent of SECRET_KEY (whoever learns SECRET_KEY must not learn them too).
    Messages never show a key."""
    if not encryption_keys:
        raise ImproperlyConfigured(
            "Set PII_ENCRYPTION_KEYS: Fernet keys, comma-separated, newest first "
            "(`python -m config.pii_keys new-key`). Values written with the single key of "
            "before: add `python -m config.pii_keys legacy-key` of the old secret as a "
            "second key, then run `manage.py rotate_encryption_keys`."
        )
    derived = _secret_key_derivations(secret_key)
    seen: set[bytes] = set()
    for position, key in enumerate(encryption_keys, start=1):
        raw = _raw(key)
        if raw is None:
            raise ImproperlyConfigured(
                f"PII_ENCRYPTION_KEYS entry {position} is not a Fernet key (32 bytes, "
                "URL-safe base64)."
            )
        if raw in seen:
            raise ImproperlyConfigured(f"PII_ENCRYPTION_KEYS entry {position} repeats a key.")
        seen.add(raw)
        if raw in derived or _shares_secret(key, secret_key):
            raise ImproperlyConfigured(
                f"PII_ENCRYPTION_KEYS entry {position} is SECRET_KEY or derived from it. "
                "A key of the time before key lists derived from SECRET_KEY is only "
                "accepted once SECRET_KEY itself has been changed (ARCHITECTURE.md, "
                "'Customer data at rest')."
            )
    if len(lookup_key) < LOOKUP_KEY_MIN_LENGTH:
        raise ImproperlyConfigured(
            f"Set PII_LOOKUP_KEY to a random secret of at least {LOOKUP_KEY_MIN_LENGTH} "
            "characters (the key of the lookup hashes; it does not rotate with "
            "PII_ENCRYPTION_KEYS)."
        )
    if _shares_secret(lookup_key, secret_key) or _raw(lookup_key) in derived:
        raise ImproperlyConfigured("PII_LOOKUP_KEY is SECRET_KEY or derived from it.")
    if lookup_key in encryption_keys:
        raise ImproperlyConfigured(
            "PII_LOOKUP_KEY must not be one of PII_ENCRYPTION_KEYS: those rotate, it does not."
        )


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else ""
    if command == "new-key":
        sys.stdout.write(Fernet.generate_key().decode() + "\n")
        return 0
    if command == "legacy-key":
        secret = sys.stdin.readline().rstrip("\n")
        if not secret:
            sys.stderr.write("Give the old PII_ENCRYPTION_KEY (or SECRET_KEY) on stdin.\n")
            return 2
        sys.stdout.write(legacy_key_derive(secret) + "\n")
        return 0
    sys.stderr.write("usage: python -m config.pii_keys new-key | legacy-key < old-secret\n")
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
