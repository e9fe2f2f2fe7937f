"""Rotating the keys of customer data at rest: key lists with key ids, tokens of the
single-key era, `manage.py rotate_encryption_keys` (batches, resuming, concurrent
writers), lookup hashes that keep their own key, and production refusing weak keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from apps.bookings import pii, pii_rotation
from apps.bookings.models import Booking, Customer, IdempotencyRecord
from apps.bookings.selectors import customer_find_by_email
from apps.core.tenancy import use_tenant
from apps.notifications.webhooks.models import WebhookEndpoint, WebhookEvent, WebhookEventType
from apps.notifications.webhooks.services import webhook_endpoint_rotate_secret
from config.pii_keys import legacy_key_derive, pii_keys_check
from tests.notifications.factories import BookingFactory

ROOT = Path(__file__).resolve().parents[2]
OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()
# PII_ENCRYPTION_KEY of a deployment before key lists (or its SECRET_KEY, when unset).
SINGLE_KEY_SECRET = "the-single-key-of-before-0123456789-abcdefghij"
LOOKUP = "lookup-key-of-the-tests-0123456789-abcdefghijkl"


def single_key_era_encrypt(value: str, secret: str = SINGLE_KEY_SECRET) -> str:
    """What apps/bookings/pii.py stored before key lists, written out here independently
    of the code under test: Fernet under HKDF(secret), no key id."""
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"timenest:pii:encryption:v1"
    ).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(derived)).encrypt(value.encode()).decode()


def keys(*keys: str) -> override_settings:
    return override_settings(PII_ENCRYPTION_KEYS=list(keys))


def under(key: str) -> str:
    return f"{pii.key_id(key)}:"


# --- tokens and keys --------------------------------------------------------------------


def test_pii_tokens_name_their_key_and_any_listed_key_decrypts_them():
    with keys(OLD):
        old_token = pii.pii_encrypt("ada@example.com")
    with keys(NEW, OLD):
        new_token = pii.pii_encrypt("ada@example.com")
        assert pii.pii_decrypt(old_token) == pii.pii_decrypt(new_token) == "ada@example.com"
        assert pii.pii_key_ids() == [pii.key_id(NEW), pii.key_id(OLD)]
    assert old_token.startswith(under(OLD)) and new_token.startswith(under(NEW))
    assert pii.token_key_id(old_token) == pii.key_id(OLD)

    with keys(NEW):  # the old key removed: its tokens are unreadable, the new ones are not
        with pytest.raises(pii.InvalidToken):
            pii.pii_decrypt(old_token)
        assert pii.pii_decrypt(new_token) == "ada@example.com"


def test_a_token_is_decrypted_only_by_the_key_it_names():
    with keys(OLD):
        token = pii.pii_encrypt("ada@example.com")
    forged = under(NEW) + token.split(":", 1)[1]  # the right ciphertext, the wrong key id

    with keys(NEW, OLD), pytest.raises(pii.InvalidToken):
        pii.pii_decrypt(forged)


def test_single_key_era_tokens_decrypt_once_their_derived_key_is_listed():
    token = single_key_era_encrypt("+447911123456")
    legacy = legacy_key_derive(SINGLE_KEY_SECRET)

    assert pii.token_key_id(token) is None
    with keys(NEW, legacy):
        assert pii.pii_decrypt(token) == "+447911123456"
        moved = pii.pii_reencrypt(token)
        assert moved.startswith(under(NEW))
        assert pii.pii_reencrypt(moved) == moved  # already under the newest key: untouched
    with keys(NEW):
        assert pii.pii_decrypt(moved) == "+447911123456"
        with pytest.raises(pii.InvalidToken):
            pii.pii_decrypt(token)


def test_reencrypt_never_encrypts_what_it_cannot_read():
    with keys(NEW, OLD):
        for unreadable in ('{"id": 1}', "gAAAAAnot-a-token", under(OLD) + "garbage"):
            with pytest.raises(pii.InvalidToken):
                pii.pii_reencrypt(unreadable)


@pytest.mark.parametrize("configured", [[], ["not-a-fernet-key"], [NEW, NEW]])
def test_pii_refuses_a_missing_or_malformed_key_list(configured):
    with keys(*configured), pytest.raises(ImproperlyConfigured):
        pii.pii_encrypt("ada@example.com")


def test_lookup_hashes_keep_their_own_key_through_an_encryption_key_rotation():
    with keys(OLD), override_settings(PII_LOOKUP_KEY=LOOKUP):
        before = pii.lookup_hash("ada@example.com")
    with keys(NEW), override_settings(PII_LOOKUP_KEY=LOOKUP):
        assert pii.lookup_hash("ada@example.com") == before
    with keys(NEW), override_settings(PII_LOOKUP_KEY=LOOKUP + "-changed"):
        assert pii.lookup_hash("ada@example.com") != before


def test_a_lookup_key_equal_to_the_old_secret_keeps_the_hashes_of_the_single_key_era():
    # Before key lists the lookup key was HKDF(PII_ENCRYPTION_KEY or SECRET_KEY, …).
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"timenest:pii:lookup:v1"
    ).derive(SINGLE_KEY_SECRET.encode())
    old_hash = hmac.new(derived, b"ada@example.com", hashlib.sha256).hexdigest()

    with override_settings(PII_LOOKUP_KEY=SINGLE_KEY_SECRET):
        assert pii.lookup_hash("ada@example.com") == old_hash


def test_every_encrypted_column_is_registered_for_rotation():
    registered = {
        (columns.model, name) for columns in pii.encrypted_columns() for name in columns.fields
    }
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if field.name.endswith("_encrypted"):
                assert (model._meta.label, field.name) in registered
    for label, name in registered:  # and nothing registered is misspelt
        apps.get_model(label)._meta.get_field(name)
    assert ("bookings.IdempotencyRecord", "response_body") in registered


# --- the rotation -----------------------------------------------------------------------


def _customers_bulk_create(count: int, *, legacy_every: int = 0) -> dict[str, tuple[str, str]]:
    """`count` customers encrypted under OLD (every `legacy_every`-th one the way the
    single-key code stored it); returns their clear email and phone by id."""
    rows, clear = [], {}
    with keys(OLD):
        for n in range(count):
            email, phone = f"person{n}@example.test", f"+4479{n:08d}"
            legacy = bool(legacy_every) and n % legacy_every == 0
            encrypt = single_key_era_encrypt if legacy else pii.pii_encrypt
            row = Customer(
                name=f"Person {n}",
                email_encrypted=encrypt(email),
                email_hash=pii.lookup_hash(email),
                phone_encrypted=encrypt(phone),
                phone_hash=pii.lookup_hash(phone),
            )
            rows.append(row)
            clear[str(row.pk)] = (email, phone)
    Customer.objects.bulk_create(rows, batch_size=2000)
    return clear


def _tokens(pks: list[str]) -> dict[str, tuple[str, str]]:
    return {
        str(pk): (email, phone)
        for pk, email, phone in Customer.objects.filter(pk__in=pks).values_list(
            "pk", "email_encrypted", "phone_encrypted"
        )
    }


def test_rotation_of_ten_thousand_customers_leaves_only_the_new_key_needed(acme):
    # given 10,000 customers under the old key (1,000 of them from the single-key era),
    # and a booking's contact, a webhook endpoint and event, and stored answers as well
    expected = _customers_bulk_create(10_000, legacy_every=10)
    with keys(OLD):
        booking = BookingFactory(customer=Customer.objects.get(pk=next(iter(expected))))
        Booking.objects.filter(pk=booking.pk).update(
            contact_email_encrypted=pii.pii_encrypt("contact@example.test"),
            contact_phone_encrypted=single_key_era_encrypt("+441234567890"),
        )
        endpoint = WebhookEndpoint.objects.create(
            url="https://crm.example.test/hooks",
            events=[WebhookEventType.BOOKING_CONFIRMED],
            secret_encrypted=pii.pii_encrypt("whsec_current"),
            previous_secret_encrypted=single_key_era_encrypt("whsec_previous"),
            secret_hint="rent",
        )
        event = WebhookEvent.objects.create(
            type=WebhookEventType.BOOKING_CONFIRMED,
            version=1,
            body_encrypted=pii.pii_encrypt('{"type": "booking.confirmed"}'),
        )
        answer = IdempotencyRecord.objects.create(
            key="k1",
            actor_key="api:1",
            request_hash="h",
            status_code=201,
            response_body=pii.pii_encrypt('{"secret": "s"}'),
        )
        # stored before answers were encrypted: no key reads it, none is needed
        IdempotencyRecord.objects.create(
            key="k2", actor_key="api:1", request_hash="h", status_code=201, response_body="{}"
        )
    schema = acme.schema_name
    # Rows other tests committed in acme are under the development keys: list them too.
    during = [NEW, OLD, legacy_key_derive(SINGLE_KEY_SECRET), *settings.PII_ENCRYPTION_KEYS]

    with keys(*during):
        # when a dry run counts the values per key
        report = io.StringIO()
        call_command("rotate_encryption_keys", "--dry-run", "--schema", schema, stdout=report)
        # then it writes nothing, and says how many values each key made
        assert f"key {pii.key_id(OLD)} (#2 of PII_ENCRYPTION_KEYS): 18004" in report.getvalue()
        assert "a key of before key lists (no key id): 2002" in report.getvalue()
        assert "not a token: " in report.getvalue()
        assert not Customer.objects.filter(email_encrypted__startswith=under(NEW)).exists()

        to_move = sum(
            count
            for key, count in pii_rotation.census_by_key(
                pii_rotation.encrypted_values_census(schema=schema)
            ).items()
            if key not in (pii.key_id(NEW), pii_rotation.NOT_ENCRYPTED)
        )
        assert to_move >= 20006  # (more if other tests left rows in acme)

        # when the rotation runs
        started = time.perf_counter()
        report = io.StringIO()
        call_command("rotate_encryption_keys", "--schema", schema, verbosity=0, stdout=report)
        seconds = time.perf_counter() - started

    # then it says the old keys can go, and with the new key alone everything reads
    assert "can now be removed from PII_ENCRYPTION_KEYS" in report.getvalue()
    assert f"Re-encrypted {to_move} value(s)" in report.getvalue()
    with keys(NEW):
        stored = _tokens(list(expected))
        for pk, (email, phone) in expected.items():
            email_token, phone_token = stored[pk]
            assert email_token.startswith(under(NEW)) and phone_token.startswith(under(NEW))
            assert (pii.pii_decrypt(email_token), pii.pii_decrypt(phone_token)) == (email, phone)
        booking.refresh_from_db()
        assert (booking.contact.email, booking.contact.phone) == (
            "contact@example.test",
            "+441234567890",
        )
        endpoint.refresh_from_db()
        assert pii.pii_decrypt(endpoint.secret_encrypted) == "whsec_current"
        assert pii.pii_decrypt(endpoint.previous_secret_encrypted) == "whsec_previous"
        event.refresh_from_db()
        assert pii.pii_decrypt(event.body_encrypted) == '{"type": "booking.confirmed"}'
        answer.refresh_from_db()
        assert pii.pii_decrypt(answer.response_body) == '{"secret": "s"}'
        assert IdempotencyRecord.objects.get(key="k2").response_body == "{}"
        # lookups still find customers: the hashes kept their own key
        assert str(customer_find_by_email(email="Person4242@Example.test").pk) in expected
        # and a second run finds nothing left to do
        report = io.StringIO()
        call_command("rotate_encryption_keys", "--schema", schema, verbosity=0, stdout=report)
        assert "Re-encrypted 0 value(s)" in report.getvalue()
    assert seconds < 30, f"the rotation of 10,000 customers took {seconds:.1f}s"


def test_an_interrupted_rotation_keeps_whole_batches_and_a_rerun_finishes_the_rest(
    acme, monkeypatch
):
    expected = _customers_bulk_create(1_000)
    assert Customer.objects.count() == 1_000  # batches below count these rows only
    reencrypt = pii.pii_reencrypt
    calls = 0

    def failing_midway(token: str) -> str:
        nonlocal calls
        calls += 1
        if calls > 450:  # two values per customer: inside the third batch of 100
            raise RuntimeError("the operator pressed Ctrl-C")
        return reencrypt(token)

    with keys(NEW, OLD):
        # given a rotation that dies in its third batch
        monkeypatch.setattr(pii, "pii_reencrypt", failing_midway)
        with pytest.raises(RuntimeError):
            pii_rotation.encrypted_values_rotate(schema=acme.schema_name, batch_size=100)
        monkeypatch.setattr(pii, "pii_reencrypt", reencrypt)

        # then the two batches before it stand, and nothing of the third
        done = Customer.objects.filter(
            pk__in=list(expected), email_encrypted__startswith=under(NEW)
        )
        assert done.count() == 200
        assert done.filter(phone_encrypted__startswith=under(NEW)).count() == 200
        first_run = _tokens(list(expected))

        # when it runs again (first in parts: a batch limit stops it early)
        part = pii_rotation.encrypted_values_rotate(
            schema=acme.schema_name, batch_size=100, max_batches=3
        )
        assert (part.rewritten, part.complete) == (600, False)
        rest = pii_rotation.encrypted_values_rotate(schema=acme.schema_name, batch_size=100)

    # then it skipped what was already done and finished the rest
    assert (rest.rewritten, rest.complete) == (1_000, True)  # 500 customers, two values each
    now = _tokens(list(expected))
    for pk, tokens in first_run.items():
        if tokens[0].startswith(under(NEW)):
            assert now[pk] == tokens  # not re-encrypted a second time
    with keys(NEW):
        for pk, (email, phone) in expected.items():
            assert (pii.pii_decrypt(now[pk][0]), pii.pii_decrypt(now[pk][1])) == (email, phone)


def test_the_rotation_reaches_every_tenant_schema_and_only_schemas_with_encrypted_tables(
    acme, globex
):
    schemas = pii_rotation.pii_schemas()

    assert {acme.schema_name, globex.schema_name} <= set(schemas)
    assert "public" in schemas  # authenticator secrets live there
    report = io.StringIO()
    call_command("rotate_encryption_keys", "--dry-run", stdout=report)
    assert f"in {len(schemas)} schema(s) would be re-encrypted" in report.getvalue()
    with pytest.raises(CommandError, match="No encrypted columns in schema"):
        call_command("rotate_encryption_keys", "--schema", "pg_catalog", stdout=io.StringIO())


def test_the_command_refuses_to_call_the_old_key_removable_while_values_need_it(acme):
    _customers_bulk_create(30)
    in_parts = ["--schema", acme.schema_name, "--batch-size", "10", "--max-batches", "1"]
    with keys(NEW, OLD), pytest.raises(CommandError, match=f"still use key {pii.key_id(OLD)}"):
        call_command("rotate_encryption_keys", *in_parts, verbosity=0, stdout=io.StringIO())

    # the old key removed too soon: its values are named, not rewritten
    too_soon = pytest.raises(CommandError, match=r"still use key \w+ \(not configured\)")
    with keys(NEW), too_soon:
        call_command(
            "rotate_encryption_keys",
            "--schema",
            acme.schema_name,
            verbosity=0,
            stdout=io.StringIO(),
        )


def test_a_secret_the_app_writes_during_the_rotation_is_not_lost(committed, monkeypatch):
    # given a committed webhook endpoint (and customers around it) under the old key
    with keys(OLD):
        _customers_bulk_create(50)
        endpoint = WebhookEndpoint.objects.create(
            url="https://crm.example.test/hooks",
            events=[WebhookEventType.BOOKING_CONFIRMED],
            secret_encrypted=pii.pii_encrypt("whsec_before"),
            secret_hint="fore",
        )
    old_token = endpoint.secret_encrypted
    reencrypt = pii.pii_reencrypt
    written: dict[str, object] = {}
    writer_started = threading.Event()

    def rotate_the_secret_meanwhile() -> None:
        try:
            use_tenant(committed)
            writer_started.set()
            _, written["secret"] = webhook_endpoint_rotate_secret(endpoint=endpoint)
        except BaseException as exc:  # surfaced by the assertions below
            written["crash"] = exc
        finally:
            connection.close()

    writer = threading.Thread(target=rotate_the_secret_meanwhile, daemon=True)

    def reencrypt_while_the_app_writes(token: str) -> str:
        # The rotation has read the endpoint's old secret and is about to write it back
        # re-encrypted: the app rotates the endpoint's secret right now.
        if token == old_token and not writer.ident:
            writer.start()
            writer_started.wait(5)
            time.sleep(0.5)  # long enough for an unlocked writer to commit
        return reencrypt(token)

    with keys(NEW, OLD):
        monkeypatch.setattr(pii, "pii_reencrypt", reencrypt_while_the_app_writes)
        # when the rotation runs while the app writes
        result = pii_rotation.encrypted_values_rotate(schema=committed.schema_name)
        monkeypatch.setattr(pii, "pii_reencrypt", reencrypt)
        writer.join(10)
        assert "crash" not in written and "secret" in written
        assert result.complete
        # a second pass rotates what the app copied aside meanwhile (nothing, or the
        # previous secret if the app had won the race)
        pii_rotation.encrypted_values_rotate(schema=committed.schema_name)

    # then the app's new secret is the endpoint's secret, and the old one its previous
    endpoint.refresh_from_db()
    with keys(NEW):
        assert pii.pii_decrypt(endpoint.secret_encrypted) == written["secret"]
        assert pii.pii_decrypt(endpoint.previous_secret_encrypted) == "whsec_before"


def test_rehash_recomputes_lookup_hashes_after_the_lookup_key_changed(acme):
    with override_settings(PII_LOOKUP_KEY=LOOKUP):
        expected = _customers_bulk_create(120)
    assert Customer.objects.count() == 120
    new_lookup = LOOKUP + "-rotated"
    with keys(OLD), override_settings(PII_LOOKUP_KEY=new_lookup):
        assert customer_find_by_email(email="person7@example.test") is None  # hashes stale

        result = pii_rotation.lookup_hashes_recompute(schema=acme.schema_name, batch_size=50)
        again = pii_rotation.lookup_hashes_recompute(schema=acme.schema_name, batch_size=50)

        assert (result.updated, result.conflicts) == (120, [])
        assert again.updated == 0
        found = customer_find_by_email(email="person7@example.test")
        assert found is not None and str(found.pk) in expected


# --- production settings ------------------------------------------------------------------


SECRET = "prod-settings-test-secret-key-0123456789-abcdefghij"


@pytest.mark.parametrize(
    ("encryption_keys", "lookup_key", "complaint"),
    [
        ([], LOOKUP, "Set PII_ENCRYPTION_KEYS"),
        (["not-a-key"], LOOKUP, "not a Fernet key"),
        ([NEW, NEW], LOOKUP, "repeats a key"),
        ([NEW, legacy_key_derive(SECRET)], LOOKUP, "derived from it"),
        (
            [base64.urlsafe_b64encode(SECRET.encode()[:32]).decode()],
            LOOKUP,
            "derived from it",
        ),
        ([NEW], "", "Set PII_LOOKUP_KEY"),
        ([NEW], SECRET, "PII_LOOKUP_KEY is SECRET_KEY"),
        ([NEW], NEW, "must not be one of PII_ENCRYPTION_KEYS"),
    ],
)
def test_pii_keys_check_refuses_missing_weak_or_secret_key_derived_keys(
    encryption_keys, lookup_key, complaint
):
    with pytest.raises(ImproperlyConfigured, match=complaint) as refused:
        pii_keys_check(encryption_keys=encryption_keys, lookup_key=lookup_key, secret_key=SECRET)
    for key in encryption_keys:
        assert key not in str(refused.value)  # never shows a key


def _import_prod_settings(**env: str) -> subprocess.CompletedProcess[str]:
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PII_") and key != "DJANGO_SETTINGS_MODULE"
    }
    code = "from config.settings import prod\nprint(len(prod.PII_ENCRYPTION_KEYS))\n"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**inherited, "DJANGO_SECRET_KEY": SECRET, "API_NUM_PROXIES": "0", **env},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    "env",
    [
        {"PII_LOOKUP_KEY": LOOKUP},
        {"PII_ENCRYPTION_KEYS": f"{NEW},{legacy_key_derive(SECRET)}", "PII_LOOKUP_KEY": LOOKUP},
    ],
    ids=["no-keys", "key-derived-from-secret-key"],
)
def test_production_settings_refuse_to_load_without_independent_pii_keys(env):
    result = _import_prod_settings(**env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "PII_ENCRYPTION_KEYS" in result.stderr


def test_production_settings_load_with_a_key_list_and_a_lookup_key():
    result = _import_prod_settings(PII_ENCRYPTION_KEYS=f" {NEW}, {OLD} ", PII_LOOKUP_KEY=LOOKUP)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2"]
