"""Emptying a tenant's business tables between tests that commit.

The live server's flush, and tests whose threads need committed rows, leave tenant
schemas as they are: such tests empty the tables of the business's catalogue, schedule
and bookings themselves. The list comes from the installed models (auto-created
many-to-many tables included), so a new model of those apps is emptied too; TRUNCATE
also clears the append-only booking history, which refuses row deletes and TRUNCATE
unless the audit guard is lifted (tests/plugins/audit_guard.py).
"""

from __future__ import annotations

from django.apps import apps
from django.db import connection

from tests.plugins.audit_guard import audit_guard_lifted

BUSINESS_APPS = ("resources", "calendars", "bookings")


def business_tables(app_labels: tuple[str, ...] = BUSINESS_APPS) -> list[str]:
    return [
        model._meta.db_table
        for label in app_labels
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    ]


def business_tables_truncate(schema: str) -> None:
    tables = ", ".join(f'"{schema}"."{table}"' for table in business_tables())
    with audit_guard_lifted(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} CASCADE")
