"""Plugin: committed data for tests whose threads each open their own connection.

The usual `acme` fixture runs a test inside a transaction that is rolled back, which
other connections never see. `committed` instead runs the test inside a tenant of its own
whose rows are committed as they are written; that tenant (schema and all) is dropped at
the end of the session, so nothing is left behind and no other test sees its rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from apps.accounts.models import Tenant, User
from apps.accounts.services import tenant_create
from apps.core.tenancy import use_public_schema


@pytest.fixture(scope="session")
def committed_tenant(django_db_setup: None, django_db_blocker: Any) -> Iterator[Tenant]:
    slug = f"race-{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        owner = User.objects.create_user(email=f"owner@{slug}.test")
        tenant = tenant_create(slug=slug, name="Booking races", owner=owner, timezone="UTC")
    yield tenant
    with django_db_blocker.unblock():
        use_public_schema()
        tenant.delete(force_drop=True)
        # Not `owner.delete()`: its collector would visit tenant tables (resources keep
        # a user id) from the public schema.
        User.objects.filter(pk=owner.pk)._raw_delete(using=connection.alias)


@pytest.fixture
def committed(committed_tenant: Tenant, django_db_blocker: Any) -> Iterator[Tenant]:
    """Runs the test inside the committed tenant, in autocommit mode."""
    with django_db_blocker.unblock():
        committed_tenant.refresh_from_db()
        with tenant_context(committed_tenant):
            yield committed_tenant
