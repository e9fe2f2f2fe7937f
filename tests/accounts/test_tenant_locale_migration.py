"""accounts 0014 turns a business's regional or unknown default language into one of
ours, so its pages and messages stop falling back to English."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from apps.accounts.models import Tenant

migration = importlib.import_module("apps.accounts.migrations.0014_tenant_locale_ours")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("saved", "ours"),
    [("de-DE", "de"), ("fr_CA", "fr"), (" ES ", "es"), ("pt-BR", "en"), ("", "en"), ("de", "de")],
)
def test_a_saved_locale_becomes_one_of_ours(acme: Tenant, saved: str, ours: str) -> None:
    Tenant.objects.filter(pk=acme.pk).update(locale=saved)

    migration.locales_ours(apps, None)

    assert Tenant.objects.get(pk=acme.pk).locale == ours
