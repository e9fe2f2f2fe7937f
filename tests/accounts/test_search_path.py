"""django-tenants sets the connection's search_path once and remembers it
(TENANT_LIMIT_SET_CALLS) instead of before every statement. That is only safe if what
it remembers is always what PostgreSQL has: a SET issued inside a transaction or a
savepoint that is rolled back is undone by PostgreSQL, so the backend must forget it
too. These tests pin that behaviour of the installed backend."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import ProgrammingError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import get_limit_set_calls, schema_context

from apps.accounts.models import Tenant
from apps.core.tenancy import use_public_schema, use_tenant


class _Boom(Exception):
    pass


def _switch_in_a_transaction_that_fails(tenant: Tenant, *, bad_sql: bool = False) -> None:
    """Switches to `tenant` inside an atomic block (a savepoint inside a test
    transaction, a transaction otherwise) whose first statement sends the SET, then
    fails, so PostgreSQL undoes that SET."""
    with transaction.atomic():
        use_tenant(tenant)
        assert _schema_in_use() == tenant.schema_name
        if bad_sql:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM a_table_that_does_not_exist")
        raise _Boom


def _schema_in_use() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        return str(cursor.fetchone()[0])


def test_the_search_path_is_set_once_per_schema_switch():
    assert settings.TENANT_LIMIT_SET_CALLS is True
    assert get_limit_set_calls()


@pytest.mark.django_db
def test_a_set_undone_by_a_savepoint_rollback_is_issued_again(acme: Tenant):
    # given: the connection on public, with that path set
    use_public_schema()
    assert _schema_in_use() == "public"

    # when: the switch to acme is first sent inside a savepoint that is rolled back
    with pytest.raises(_Boom):
        _switch_in_a_transaction_that_fails(acme)

    # then: PostgreSQL undid the SET; the backend knows, and sets acme again
    assert _schema_in_use() == acme.schema_name


def test_a_set_undone_by_a_transaction_rollback_is_issued_again(autocommit: Tenant):
    acme = autocommit
    use_public_schema()
    assert _schema_in_use() == "public"

    with pytest.raises(_Boom):
        _switch_in_a_transaction_that_fails(acme)

    assert _schema_in_use() == acme.schema_name


def test_a_failed_statement_in_a_transaction_does_not_leave_the_wrong_schema(
    autocommit: Tenant,
):
    acme = autocommit
    use_public_schema()
    assert _schema_in_use() == "public"

    with pytest.raises(ProgrammingError):
        _switch_in_a_transaction_that_fails(acme, bad_sql=True)

    assert _schema_in_use() == acme.schema_name


@pytest.mark.django_db
def test_every_schema_switch_is_sent(acme: Tenant, globex: Tenant):
    assert _schema_in_use() == acme.schema_name
    with schema_context(globex.schema_name):
        assert _schema_in_use() == globex.schema_name
    assert _schema_in_use() == acme.schema_name
    use_public_schema()
    assert _schema_in_use() == "public"


def test_a_closed_connection_gets_its_path_again(autocommit: Tenant):
    acme = autocommit
    use_tenant(acme)
    assert _schema_in_use() == acme.schema_name

    connection.close()

    assert _schema_in_use() == acme.schema_name


def _sets(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SET search_path")]


def test_a_switch_back_to_the_path_postgresql_has_sends_nothing(autocommit: Tenant):
    """Every request switches to public and then to its business: the next request to
    the same business on the same connection needs no SET."""
    acme = autocommit
    use_tenant(acme)
    assert _schema_in_use() == acme.schema_name

    with CaptureQueriesContext(connection) as captured:
        use_public_schema()
        use_tenant(acme)
        assert _schema_in_use() == acme.schema_name
    assert _sets(captured) == []

    with CaptureQueriesContext(connection) as captured:
        use_public_schema()
        assert _schema_in_use() == "public"
    assert len(_sets(captured)) == 1


def test_a_path_set_in_a_rolled_back_transaction_is_not_trusted(
    autocommit: Tenant, globex_autocommit: Tenant
):
    """PostgreSQL holds acme's path; a transaction switches to globex and back to acme
    (both sent), then rolls back: PostgreSQL is on acme again, and the backend, not
    knowing, sends it before the next statement."""
    acme, globex = autocommit, globex_autocommit
    use_tenant(acme)
    assert _schema_in_use() == acme.schema_name

    def there_and_back_then_fail() -> None:
        with transaction.atomic():
            use_tenant(globex)
            assert _schema_in_use() == globex.schema_name
            use_tenant(acme)
            assert _schema_in_use() == acme.schema_name
            raise _Boom

    with pytest.raises(_Boom):
        there_and_back_then_fail()
    use_tenant(globex)
    with CaptureQueriesContext(connection) as captured:
        use_tenant(acme)
        assert _schema_in_use() == acme.schema_name
    assert len(_sets(captured)) == 1
