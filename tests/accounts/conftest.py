"""Fixtures of the accounts tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from apps.accounts.models import Tenant
from apps.core.tenancy import use_public_schema


@pytest.fixture
def autocommit(django_db_setup: None, django_db_blocker: Any) -> Iterator[Tenant]:
    """The database without a test transaction around the test (so a rollback here is a
    real one), in acme. These tests only read: nothing is left behind."""
    with django_db_blocker.unblock():
        assert connection.get_autocommit()
        acme = Tenant.objects.get(slug="acme")
        try:
            yield acme
        finally:
            use_public_schema()


@pytest.fixture
def globex_autocommit(autocommit: Tenant) -> Tenant:
    return Tenant.objects.get(slug="globex")
