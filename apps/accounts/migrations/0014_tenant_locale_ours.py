"""Businesses whose default language was saved before it was checked (a regional code
such as "de-DE", or one we do not speak) get the language of ours it names ("de"), or
English: unconverted, their pages and messages silently fell back to English."""

from typing import Any

from django.conf import settings
from django.db import migrations
from django.utils import translation


def locales_ours(apps: Any, schema_editor: Any) -> None:
    tenant = apps.get_model("accounts", "Tenant")
    ours = {code for code, _ in settings.LANGUAGES}
    for row in tenant.objects.exclude(locale__in=ours).only("pk", "locale"):
        try:
            code = translation.get_supported_language_variant(
                row.locale.strip().lower().replace("_", "-")
            )
        except LookupError:
            code = settings.LANGUAGE_CODE
        tenant.objects.filter(pk=row.pk).update(locale=code if code in ours else "en")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0013_user_language_tenant_locale_checked"),
    ]

    operations = [
        migrations.RunPython(locales_ours, migrations.RunPython.noop, elidable=True),
    ]
