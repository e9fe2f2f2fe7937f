"""Authenticator secrets move from django-otp's TOTPDevice (hex, in clear) to
AuthenticatorDevice (encrypted under the key list); the old table is emptied and dropped,
so no clear secret is left behind. Everyone keeps their authenticator: the secret, its
drift and its last accepted time step move with it."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import apps.accounts.models

_COLUMNS = (
    "user_id, name, confirmed, throttling_failure_timestamp, throttling_failure_count, "
    "created_at, last_used_at, step, t0, digits, tolerance, drift, last_t"
)


def secrets_move(apps, schema_editor):
    from apps.core.encryption import pii_encrypt

    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('otp_totp_totpdevice') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return
        cursor.execute(f"SELECT key, {_COLUMNS} FROM otp_totp_totpdevice ORDER BY id")  # noqa: S608
        for key, *rest in cursor.fetchall():
            cursor.execute(
                f"INSERT INTO accounts_authenticatordevice (key_encrypted, {_COLUMNS}) "  # noqa: S608
                f"VALUES ({', '.join(['%s'] * (len(rest) + 1))})",
                [pii_encrypt(key), *rest],
            )
        cursor.execute("DROP TABLE otp_totp_totpdevice")
        cursor.execute("DELETE FROM django_migrations WHERE app = 'otp_totp'")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_tenant_support_suspension"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuthenticatorDevice",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "name",
                    models.CharField(
                        help_text="The human-readable name of this device.", max_length=64
                    ),
                ),
                (
                    "confirmed",
                    models.BooleanField(default=True, help_text="Is this device ready for use?"),
                ),
                (
                    "throttling_failure_timestamp",
                    models.DateTimeField(
                        blank=True,
                        default=None,
                        help_text="A timestamp of the last failed verification attempt. Null if last attempt succeeded.",
                        null=True,
                    ),
                ),
                (
                    "throttling_failure_count",
                    models.PositiveIntegerField(
                        default=0, help_text="Number of successive failed attempts."
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        auto_now_add=True,
                        help_text="The date and time when this device was initially created in the system.",
                        null=True,
                    ),
                ),
                (
                    "last_used_at",
                    models.DateTimeField(
                        blank=True,
                        help_text="The most recent date and time this device was used.",
                        null=True,
                    ),
                ),
                (
                    "key_encrypted",
                    models.TextField(default=apps.accounts.models.authenticator_key_new),
                ),
                ("step", models.PositiveSmallIntegerField(default=30)),
                ("t0", models.BigIntegerField(default=0)),
                ("digits", models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6)),
                ("tolerance", models.PositiveSmallIntegerField(default=1)),
                ("drift", models.SmallIntegerField(default=0)),
                ("last_t", models.BigIntegerField(default=-1)),
                (
                    "user",
                    models.ForeignKey(
                        help_text="The user that this device belongs to.",
                        on_delete=django.db.models.deletion.CASCADE,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "authenticator app",
                "abstract": False,
            },
        ),
        migrations.RunPython(secrets_move, migrations.RunPython.noop),
    ]
