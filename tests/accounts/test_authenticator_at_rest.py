"""Authenticator secrets at rest (ASVS 2.8.2): encrypted under the key list, readable
only through it, re-encrypted by `rotate_encryption_keys`, and moved out of django-otp's
clear-text table by the migration that introduced them."""

from __future__ import annotations

import base64
import importlib
import io
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django_otp.oath import totp

from apps.accounts.models import AuthenticatorDevice
from apps.core.encryption import InvalidToken, key_id, pii_encrypt, token_key_id
from tests.plugins.factories import UserFactory

pytestmark = pytest.mark.django_db

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()


def _code(device: AuthenticatorDevice, *, offset: int = 0) -> str:
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset)
    return f"{code:0{device.digits}d}"


def _stored(device: AuthenticatorDevice) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT key_encrypted FROM public.accounts_authenticatordevice WHERE id = %s",
            [device.pk],
        )
        return str(cursor.fetchone()[0])


def test_the_secret_is_stored_encrypted_and_codes_still_verify_once():
    user = UserFactory.create(email="ana@example.test")
    device = AuthenticatorDevice.objects.create(user=user, name="phone", confirmed=True)
    stored = _stored(device)
    secret_hex = device.bin_key.hex()

    assert len(device.bin_key) == 20
    assert secret_hex not in stored.lower()
    assert base64.b32encode(device.bin_key).decode() not in stored
    assert token_key_id(stored) is not None
    code = _code(device)
    assert device.verify_token(code)
    assert not device.verify_token(code)  # a code is accepted once (its time step is spent)


def test_each_device_gets_its_own_secret_and_a_copy_without_the_key_reads_nothing():
    user = UserFactory.create(email="ben@example.test")
    first = AuthenticatorDevice.objects.create(user=user, name="one")
    second = AuthenticatorDevice.objects.create(user=user, name="two")

    assert first.bin_key != second.bin_key
    with (
        override_settings(PII_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]),
        pytest.raises(InvalidToken),
    ):
        AuthenticatorDevice.objects.get(pk=first.pk).bin_key  # noqa: B018


def test_the_setup_url_carries_the_secret_and_the_issuer():
    user = UserFactory.create(email="cleo@example.test")
    device = AuthenticatorDevice.objects.create(user=user, name="phone")
    url = urlsplit(device.config_url)
    params = parse_qs(url.query)

    assert (url.scheme, url.netloc) == ("otpauth", "totp")
    assert url.path == "/TimeNest%3Acleo%40example.test"
    assert params["secret"] == [base64.b32encode(device.bin_key).decode()]
    assert params["issuer"] == ["TimeNest"]
    assert (params["digits"], params["period"], params["algorithm"]) == (["6"], ["30"], ["SHA1"])


def test_wrong_codes_are_throttled_and_a_right_one_then_waits(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 10
    user = UserFactory.create(email="dan@example.test")
    device = AuthenticatorDevice.objects.create(user=user, name="phone", confirmed=True)
    wrong = f"{(int(_code(device)) + 1) % 1_000_000:06d}"

    assert not device.verify_token(wrong)
    assert not device.verify_token(_code(device))  # refused while the wait runs
    device.refresh_from_db()
    assert device.throttling_failure_count == 1


def test_rotation_moves_authenticator_secrets_to_the_new_key():
    user = UserFactory.create(email="eve@example.test")
    with override_settings(PII_ENCRYPTION_KEYS=[OLD]):
        device = AuthenticatorDevice.objects.create(user=user, name="phone", confirmed=True)
        secret = device.bin_key
    assert _stored(device).startswith(f"{key_id(OLD)}:")

    with override_settings(PII_ENCRYPTION_KEYS=[NEW, OLD]):
        call_command("rotate_encryption_keys", "--schema", "public", stdout=io.StringIO())
    assert _stored(device).startswith(f"{key_id(NEW)}:")
    with override_settings(PII_ENCRYPTION_KEYS=[NEW]):
        moved = AuthenticatorDevice.objects.get(pk=device.pk)
        assert moved.bin_key == secret
        assert moved.verify_token(_code(moved))


def test_the_migration_moves_clear_secrets_and_drops_the_clear_table():
    """What the migration found on databases of before: django-otp's table with the
    secret as hex. Everyone keeps their authenticator; nothing clear is left."""
    user = UserFactory.create(email="fay@example.test")
    secret = bytes(range(20))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE TABLE otp_totp_totpdevice (
                id bigserial PRIMARY KEY, user_id uuid NOT NULL, name varchar(64) NOT NULL,
                confirmed boolean NOT NULL, key varchar(80) NOT NULL,
                step smallint NOT NULL, t0 bigint NOT NULL, digits smallint NOT NULL,
                tolerance smallint NOT NULL, drift smallint NOT NULL, last_t bigint NOT NULL,
                throttling_failure_timestamp timestamptz NULL,
                throttling_failure_count integer NOT NULL,
                created_at timestamptz NULL, last_used_at timestamptz NULL)
            """
        )
        cursor.execute(
            "INSERT INTO otp_totp_totpdevice (user_id, name, confirmed, key, step, t0, digits, "
            "tolerance, drift, last_t, throttling_failure_count) "
            "VALUES (%s, 'phone', true, %s, 30, 0, 6, 1, 1, 123, 0)",
            [user.pk, secret.hex()],
        )
        cursor.execute(
            "INSERT INTO django_migrations (app, name, applied) VALUES ('otp_totp', '0001', now())"
        )
    migration = importlib.import_module("apps.accounts.migrations.0009_authenticator_key_encrypted")

    with connection.schema_editor() as editor:
        migration.secrets_move(apps, editor)

    moved = AuthenticatorDevice.objects.get(user=user)
    assert (moved.bin_key, moved.drift, moved.last_t, moved.confirmed) == (secret, 1, 123, True)
    assert secret.hex() not in _stored(moved)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('otp_totp_totpdevice') IS NULL")
        assert cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM django_migrations WHERE app = 'otp_totp'")
        assert cursor.fetchone()[0] == 0


def test_a_token_made_with_another_key_list_entry_reads_back():
    """A device written under an older key (still listed) works before any rotation."""
    user = UserFactory.create(email="gus@example.test")
    secret = bytes(range(1, 21))
    with override_settings(PII_ENCRYPTION_KEYS=[OLD]):
        stored = pii_encrypt(secret.hex())
    device = AuthenticatorDevice.objects.create(user=user, name="phone", key_encrypted=stored)
    with override_settings(PII_ENCRYPTION_KEYS=[NEW, OLD]):
        assert AuthenticatorDevice.objects.get(pk=device.pk).bin_key == secret
