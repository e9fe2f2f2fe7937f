"""Writes for API keys: create (the secret is returned once), revoke, and the check of a
presented key on each request.

A key reads `tn_<prefix>_<secret>`: the prefix (random, public) finds the row, the
secret (256 random bits) is compared by its SHA-256. A slow password hash would add
nothing: nobody can guess 256 random bits, and every request checks a key.

Every request checks a key, so the active row is kept in Redis (tenant-prefixed keys)
for KEY_CACHE_SECONDS beside a per-prefix generation token: an entry counts only while
it carries the current token, and any change of the row (revocation, role, deletion)
draws a new token, right away and again after its transaction commits (a request may
have read and cached the row as it was before the change). A revocation therefore
stops the key on every worker at once; the secret is still compared on every request.
With Redis out of reach keys are read from the database, as before the cache.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import string
from datetime import timedelta

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

from apps.accounts.models import User
from apps.api.models import ApiKey
from apps.core.cache_values import model_cache_value, model_from_cache_value
from apps.core.errors import FieldError, ValidationFailed

logger = logging.getLogger(__name__)

KEY_SCHEME = "tn"
PREFIX_LENGTH = 12
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
NAME_MAX_LENGTH = 120
# `last_used_at` is written at most this often per key: a busy key must not turn every
# read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
KEY_CACHE_SECONDS = 60
# Outlives every entry; a lost token only makes the entries it guarded useless.
_GENERATION_SECONDS = 24 * 3600


def looks_like_api_key(value: str) -> bool:
    return value.startswith(f"{KEY_SCHEME}_")


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _split(presented: str) -> tuple[str, str] | None:
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_SCHEME or not parts[1] or not parts[2]:
        return None
    return f"{KEY_SCHEME}_{parts[1]}", parts[2]


def api_key_create(
    *, role: str, name: str = "", created_by: User | None = None
) -> tuple[ApiKey, str]:
    """A new key and its full text, which is not stored and cannot be shown again."""
    errors: list[FieldError] = []
    if role not in ApiKey.Role.values:
        errors.append(
            FieldError(
                "role",
                gettext("Choose one of: %(choices)s.") % {"choices": ", ".join(ApiKey.Role.values)},
            )
        )
    name = " ".join((name or "").split())
    if len(name) > NAME_MAX_LENGTH:
        errors.append(
            FieldError(
                "name",
                gettext("Keep the name under %(length)s characters.")
                % {"length": NAME_MAX_LENGTH + 1},
            )
        )
    if errors:
        raise ValidationFailed(gettext("The API key could not be created."), errors)
    for _attempt in range(3):
        prefix = f"{KEY_SCHEME}_" + "".join(
            secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH)
        )
        secret = secrets.token_urlsafe(32)
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(
                    name=name,
                    prefix=prefix,
                    secret_hash=_secret_hash(secret),
                    role=role,
                    created_by_id=str(created_by.pk) if created_by is not None else "",
                )
        except IntegrityError:  # a prefix collision (62 random bits): draw again
            continue
        logger.info("api_key.created", extra={"api_key_id": str(key.id), "role": role})
        return key, f"{prefix}_{secret}"
    raise RuntimeError("Could not draw a unique API key prefix.")


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoking is immediate and final; revoking a revoked key changes nothing."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at", "updated_at"])
        logger.info("api_key.revoked", extra={"api_key_id": str(api_key.id)})
    return api_key


def api_key_cache_keys(*, presented: str) -> list[str] | None:
    """The Redis keys of a presented key's cached row and its generation, for a caller
    that reads them in a round trip of its own (`api_key_from_cache`); None when the
    text is not shaped like a key."""
    split = _split(presented.strip())
    if split is None:
        return None
    return [cache.make_key(name) for name in _cache_names(split[0])]


def api_key_prefix(*, presented: str) -> str | None:
    split = _split(presented.strip())
    return None if split is None else split[0]


def api_key_from_cache(
    *, presented: str, raw_entry: bytes | None, raw_generation: bytes | None
) -> ApiKey | None:
    """The key `api_key_authenticate` would answer, from the values of `api_key_cache_keys`
    as Redis returned them, when its cached row holds, the secret matches and the row
    needs no write; else None, and the caller asks `api_key_authenticate`."""
    split = _split(presented.strip())
    if split is None or raw_entry is None or raw_generation is None:
        return None
    decode = cache.client.decode  # type: ignore[attr-defined]
    try:
        key = _entry_key(decode(raw_entry), decode(raw_generation))
    except Exception:  # a value this release cannot read is a miss
        return None
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.secret_hash, _secret_hash(split[1])):
        return None
    if key.last_used_at is None or timezone.now() - key.last_used_at >= LAST_USED_RESOLUTION:
        return None  # the stamp is due: api_key_authenticate writes it
    return key


def _cache_names(prefix: str) -> tuple[str, str]:
    return f"api-key:{prefix}", f"api-key-generation:{prefix}"


def api_key_forget(*, prefix: str) -> None:
    """Cached copies of this key stop counting, in every process: now, and again when
    the current transaction commits."""
    generation = cache.make_key(_cache_names(prefix)[1])  # the tenant's key space, now

    def renew() -> None:
        try:
            client = cache.client.get_client(write=True)  # type: ignore[attr-defined]
            client.set(generation, secrets.randbits(62), ex=_GENERATION_SECONDS)
        except RedisError:
            logger.warning("api_key.cache_renew_failed", extra={"prefix": prefix})

    renew()
    transaction.on_commit(renew)


def _key_cached(prefix: str) -> tuple[ApiKey | None, int | None]:
    """The key row with this prefix when active, and the generation it holds for: from
    the cache while that generation is current, else from the database (then cached)."""
    entry_name, generation_name = _cache_names(prefix)
    try:
        found = cache.get_many([entry_name, generation_name])
        generation = found.get(generation_name)
        cached = _entry_key(found.get(entry_name), generation)
        if cached is not None:
            return cached, generation
        if generation is None:
            generation = secrets.randbits(62)
            if not cache.add(generation_name, generation, timeout=_GENERATION_SECONDS):
                generation = cache.get(generation_name)
    except (ConnectionInterrupted, RedisError):
        logger.warning("api_key.cache_unavailable")
        generation = None  # read the row, cache nothing
    # The generation was read before the row: a change committing after this read draws
    # a new one, so what is cached below cannot outlive it.
    key = ApiKey.objects.filter(prefix=prefix).first()
    if key is None or key.revoked_at is not None:
        return None, None
    if generation is not None:
        _entry_store(entry_name, generation, key)
    return key, generation


def _entry_key(entry: object, generation: int | None) -> ApiKey | None:
    """The key row of a cache entry `[generation, row]` that holds for `generation`."""
    if generation is None or not isinstance(entry, list) or len(entry) != 2:
        return None
    if entry[0] != generation or not isinstance(entry[1], dict):
        return None
    try:
        return model_from_cache_value(ApiKey, entry[1])
    except (KeyError, ValueError, ValidationError):  # written by another release: a miss
        return None


def _entry_store(entry_name: str, generation: int, key: ApiKey) -> None:
    try:
        cache.set(entry_name, [generation, model_cache_value(key)], timeout=KEY_CACHE_SECONDS)
    except (ConnectionInterrupted, RedisError):
        logger.warning("api_key.cache_unavailable")


def api_key_authenticate(*, presented: str) -> ApiKey | None:
    """The active key of this tenant matching the presented text, or None. Records when
    the key was last used (to the minute)."""
    split = _split(presented.strip())
    if split is None:
        return None
    prefix, secret = split
    key, generation = _key_cached(prefix)
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.secret_hash, _secret_hash(secret)):
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
        if generation is not None:  # under the generation it was read with
            _entry_store(_cache_names(prefix)[0], generation, key)
    return key
