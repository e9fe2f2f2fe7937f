"""API keys are checked from a short-lived cache (apps/api/services.py): a repeated call
costs no key query, and a revocation or any change of the key counts at once."""

from __future__ import annotations

import json
import pickle

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.api.models import ApiKey
from apps.api.services import api_key_authenticate, api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db


def _key_queries(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return sum("api_apikey" in query["sql"] for query in captured.captured_queries)


def test_a_repeated_call_reads_the_key_from_the_cache(acme):
    key, secret = api_key_create(role="admin")
    assert api_key_authenticate(presented=secret) == key  # first use: read and cached

    assert _key_queries(lambda: api_key_authenticate(presented=secret)) == 0
    assert api_key_authenticate(presented=secret) == key


def test_a_wrong_secret_is_refused_even_when_the_key_is_cached(acme):
    _key, secret = api_key_create(role="admin")
    api_key_authenticate(presented=secret)

    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")

    assert api_key_authenticate(presented=wrong) is None


def test_a_revoked_key_stops_working_at_once_with_a_warm_cache(acme, acme_host):
    # given: a key used (and cached) by a client
    key, secret = api_key_create(role="admin")
    client = Client(HTTP_HOST=acme_host, HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/admin/api-keys").status_code == 200

    # when
    api_key_revoke(api_key=ApiKey.objects.get(pk=key.pk))

    # then
    assert client.get("/api/v1/admin/api-keys").status_code == 401
    assert api_key_authenticate(presented=secret) is None


def test_a_role_change_counts_at_once(acme):
    key, secret = api_key_create(role="admin")
    api_key_authenticate(presented=secret)

    key.role = ApiKey.Role.READONLY
    key.save(update_fields=["role"])

    authenticated = api_key_authenticate(presented=secret)
    assert authenticated is not None
    assert authenticated.role == ApiKey.Role.READONLY


def test_a_key_that_was_read_before_its_revocation_committed_is_not_trusted(acme, monkeypatch):
    # given: a request reads the key row just before a revocation commits, and caches it
    from apps.api import services

    key, secret = api_key_create(role="admin")
    stale = ApiKey.objects.get(pk=key.pk)
    reads = ApiKey.objects.filter
    revoked = []

    def read_then_revoke(**lookup):
        rows = reads(**lookup)
        if not revoked:  # once: saving the revocation reads the row again (model history)
            revoked.append(True)
            list(rows)  # the row as it was
            api_key_revoke(api_key=ApiKey.objects.get(pk=key.pk))
        return rows

    monkeypatch.setattr(services.ApiKey.objects, "filter", read_then_revoke)
    services._key_cached(stale.prefix)
    monkeypatch.undo()

    # then: the next request does not trust what that request cached
    assert api_key_authenticate(presented=secret) is None


def test_last_use_is_written_at_most_once_a_minute(acme):
    _key, secret = api_key_create(role="admin")
    api_key_authenticate(presented=secret)

    with CaptureQueriesContext(connection) as captured:
        for _ in range(3):
            api_key_authenticate(presented=secret)

    assert not [q for q in captured.captured_queries if q["sql"].startswith("UPDATE")]


def test_a_key_of_one_tenant_is_refused_on_another_even_when_cached(acme, acme_host, globex_host):
    _key, secret = api_key_create(role="admin")
    assert (
        Client(HTTP_HOST=acme_host, HTTP_AUTHORIZATION=f"Bearer {secret}")
        .get("/api/v1/admin/api-keys")
        .status_code
        == 200
    )

    response = Client(HTTP_HOST=globex_host, HTTP_AUTHORIZATION=f"Bearer {secret}").get(
        "/api/v1/admin/api-keys"
    )

    assert response.status_code == 401


def test_keys_are_checked_from_the_database_with_redis_out_of_reach(acme, monkeypatch):
    from django.core.cache import cache
    from django_redis.exceptions import ConnectionInterrupted

    key, secret = api_key_create(role="admin")

    def unreachable(*args, **kwargs):
        raise ConnectionInterrupted(connection=None)

    monkeypatch.setattr(cache, "get_many", unreachable)
    monkeypatch.setattr(cache, "set", unreachable)

    assert api_key_authenticate(presented=secret) == key
    api_key_revoke(api_key=ApiKey.objects.get(pk=key.pk))
    assert api_key_authenticate(presented=secret) is None


def test_the_cached_row_is_json_and_comes_back_exactly(acme):
    # given: a key used once (cached), its last use at a microsecond
    from django.core.cache import cache

    key, secret = api_key_create(role="frontdesk", name="Front desk app")
    used = ApiKey.objects.get(pk=key.pk)
    api_key_authenticate(presented=secret)
    stored = cache.client.get_client().get(cache.make_key(f"api-key:{key.prefix}"))

    # when: it is read from the cache
    cached = api_key_authenticate(presented=secret)

    # then: Redis holds JSON, and every field came back as itself
    entry = json.loads(stored)
    assert entry[1]["prefix"] == key.prefix and isinstance(entry[1]["last_used_at"], str)
    assert cached is not None
    used.refresh_from_db()
    for field in ApiKey._meta.concrete_fields:
        assert getattr(cached, field.attname) == getattr(used, field.attname), field.name
        assert type(getattr(cached, field.attname)) is type(getattr(used, field.attname))


def test_an_entry_this_release_cannot_read_is_a_miss_not_an_error(acme, acme_host):
    # given: a key whose cache entry was pickled (by an older release) or is junk
    from django.core.cache import cache

    key, secret = api_key_create(role="admin")
    api_key_authenticate(presented=secret)
    client = cache.client.get_client()
    name = cache.make_key(f"api-key:{key.prefix}")
    api = Client(HTTP_HOST=acme_host, HTTP_AUTHORIZATION=f"Bearer {secret}")

    for unreadable in (pickle.dumps((1, "row")), b"\x80\x05junk", b'[1, {"prefix": 2}]'):
        client.set(name, unreadable, keepttl=True)

        # then: the key is read from the database, and still works
        assert api.get("/api/v1/admin/api-keys").status_code == 200
        assert api_key_authenticate(presented=secret) == key
