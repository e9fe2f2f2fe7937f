"""A kept database connection is closed between requests, tasks or backstop batches
once it has worked in DATABASE_CONNECTION_MAX_SCHEMAS businesses
(apps/core/postgresql_backend/base.py): PostgreSQL keeps every business's catalogue
entries per connection, for the connection's life. Outside a test transaction, so that
the connection can close; these tests only read."""

from __future__ import annotations

from django.db import connection, connections, transaction

from apps.accounts import due_work
from apps.accounts.models import Tenant
from apps.accounts.selectors import tenants_ready
from apps.core.tenancy import use_public_schema, use_tenant
from tests.accounts.test_search_path import _schema_in_use


def test_a_connection_that_served_many_businesses_is_closed_between_requests(
    autocommit: Tenant, globex_autocommit: Tenant, settings, monkeypatch
):
    settings.DATABASE_CONNECTION_MAX_SCHEMAS = 2
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", None)  # kept, as in production
    connection.close()
    use_tenant(autocommit)
    assert _schema_in_use() == autocommit.schema_name
    connection.close_if_unusable_or_obsolete()
    assert connection.connection is not None  # one business: kept
    assert connection.schemas_served == {autocommit.schema_name}  # type: ignore[attr-defined]

    use_tenant(globex_autocommit)
    assert _schema_in_use() == globex_autocommit.schema_name
    with transaction.atomic():
        assert not connection.recycle_if_wide()  # type: ignore[attr-defined]
        assert connection.connection is not None  # never inside a transaction
    connection.close_if_unusable_or_obsolete()

    assert connection.connection is None  # two: closed
    assert connection.schemas_served == set()  # type: ignore[attr-defined]
    assert _schema_in_use() == globex_autocommit.schema_name  # the next query reconnects


def test_the_limit_zero_keeps_connections(autocommit: Tenant, globex_autocommit: Tenant, settings):
    settings.DATABASE_CONNECTION_MAX_SCHEMAS = 0
    for tenant in (autocommit, globex_autocommit):
        use_tenant(tenant)
        assert _schema_in_use() == tenant.schema_name

    assert not connection.recycle_if_wide()  # type: ignore[attr-defined]
    assert connection.connection is not None


def test_the_backstop_opens_a_new_connection_after_many_businesses(
    autocommit, settings, monkeypatch
):
    """Outside a test transaction (the connection can close), reading nothing."""
    settings.DATABASE_CONNECTION_MAX_SCHEMAS = 2
    monkeypatch.setattr(due_work, "REPAIR_SCHEMAS_PER_STATEMENT", 1)
    opened: list[int] = []
    connect = type(connections["default"]).connect

    def counted(self):
        opened.append(1)
        return connect(self)

    monkeypatch.setattr(type(connections["default"]), "connect", counted)
    use_public_schema()
    schemas = list(tenants_ready().values_list("schema_name", flat=True))
    connection.close()
    read = due_work.work_due_repair_batched(
        select_sql="SELECT 'none'::text AS kind, NULL::timestamptz AS due_at "
        "FROM {schema}.bookings_booking WHERE false",
        params={},
        schemas=schemas,
        failed_event="test.failed",
    )

    assert read == len(schemas) >= 2
    # A new connection for the first business and after every two read.
    assert len(opened) == 1 + (len(schemas) - 1) // 2
