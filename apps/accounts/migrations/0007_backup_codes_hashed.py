"""Backup codes were stored in clear; from now on only a keyed digest of each is kept
(apps/accounts/mfa.py `backup_code_digests`). Existing codes keep working: each stored
code is replaced by its digest, computed the way a typed code is."""

from django.db import migrations


def _digest_existing(apps, schema_editor):
    from apps.accounts.mfa import backup_code_digests  # noqa: PLC0415 (current rule)

    StaticToken = apps.get_model("otp_static", "StaticToken")
    for token in StaticToken.objects.all():
        if len(token.token) == 16:  # already a digest
            continue
        token.token = backup_code_digests(token.token)[0]
        token.save(update_fields=["token"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_tenant_closed"),
        ("otp_static", "0003_add_timestamps"),
    ]

    operations = [migrations.RunPython(_digest_existing, migrations.RunPython.noop)]
