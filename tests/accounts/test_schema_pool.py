"""Spare schemas (apps/accounts/schema_pool.py): a signup renames a copy of the template
made ahead of it instead of cloning, so its time does not grow with the database; a
spare is a faithful copy, is taken once however many signups race for it, and a spare of
an older template is never taken."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction
from django_tenants.utils import schema_context, schema_exists

from apps.accounts.backups.census import _SCHEMAS_SQL as census_schemas_sql
from apps.accounts.database_roles import tenant_schema_clone
from apps.accounts.models import Tenant, User
from apps.accounts.schema_pool import schema_pool_fill, schema_pool_spares
from apps.accounts.services import tenant_create
from apps.core.tenancy import use_public_schema
from apps.resources.models import Location


def _rows(schema: str, query: str) -> set[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(query.format(schema=connection.ops.quote_name(schema)))
        return {tuple(row) for row in cursor.fetchall()}


def _migrations(schema: str) -> set[tuple[Any, ...]]:
    return _rows(schema, "SELECT app, name FROM {schema}.django_migrations")


def _names(schema: str) -> set[tuple[Any, ...]]:
    return _rows(
        schema,
        "SELECT c.relname, c.relkind::text FROM pg_class c WHERE c.relnamespace = "
        "'{schema}'::regnamespace UNION SELECT conname, contype::text FROM pg_constraint "
        "WHERE connamespace = '{schema}'::regnamespace",
    )


def _comment(schema: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %s",
            [schema],
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_a_fill_makes_faithful_copies_of_the_template_and_only_as_many_as_asked():
    template = settings.TENANT_BASE_SCHEMA

    first = schema_pool_fill(size=2)
    again = schema_pool_fill(size=2)

    spares = schema_pool_spares()
    assert (first["added"], again["added"], len(spares)) == (2, 0, 2)
    for spare in spares:
        assert spare.startswith("pool_")
        assert _migrations(spare) == _migrations(template)
        # every table, index, sequence and constraint, under the template's names
        assert _names(spare) == _names(template)
        assert _comment(spare) is not None

    # fewer asked: the extra goes
    assert schema_pool_fill(size=1)["dropped"] == 1
    assert len(schema_pool_spares()) == 1


@pytest.mark.django_db
def test_backups_count_and_dump_no_spare():
    schema_pool_fill(size=1)
    (spare,) = schema_pool_spares()

    with connection.cursor() as cursor:
        cursor.execute(census_schemas_sql)
        listed = {name for (name,) in cursor.fetchall()}

    assert spare not in listed
    assert {"public", settings.TENANT_BASE_SCHEMA} <= listed


@pytest.mark.django_db
def test_a_signup_takes_a_spare_which_becomes_its_schema(acme):
    use_public_schema()
    schema_pool_fill(size=2)
    spares = schema_pool_spares()
    owner = User.objects.get(email="owner@acme.test")

    tenant = tenant_create(slug="spare-taker", name="Spare taker", owner=owner)

    left = schema_pool_spares()
    assert len(left) == 1 and left[0] in spares
    taken = (set(spares) - set(left)).pop()
    assert not schema_exists(taken)
    assert tenant.schema_name == "t_spare_taker" and schema_exists(tenant.schema_name)
    assert _comment(tenant.schema_name) is None  # no longer a spare
    assert _migrations(tenant.schema_name) == _migrations(settings.TENANT_BASE_SCHEMA)
    with schema_context(tenant.schema_name):
        Location.objects.create(name="Main", timezone="Europe/Paris")
        assert Location.objects.count() == 1


@pytest.mark.django_db
def test_a_spare_of_an_older_template_is_never_taken_and_the_next_fill_drops_it(acme):
    use_public_schema()
    schema_pool_fill(size=1)
    (stale,) = schema_pool_spares()
    with connection.cursor() as cursor:
        cursor.execute(f"COMMENT ON SCHEMA {connection.ops.quote_name(stale)} IS 'older'")
    assert schema_pool_spares() == []
    owner = User.objects.get(email="owner@acme.test")

    tenant = tenant_create(slug="no-stale", name="No stale", owner=owner)

    assert schema_exists(stale) and schema_exists(tenant.schema_name)  # cloned instead
    filled = schema_pool_fill(size=1)
    assert (filled["dropped"], filled["added"]) == (1, 1)
    assert not schema_exists(stale)


@pytest.mark.django_db
def test_a_spare_another_signup_is_taking_is_passed_over_and_the_signup_clones(acme):
    use_public_schema()
    schema_pool_fill(size=1)
    (spare,) = schema_pool_spares()
    database = connection.settings_dict
    owner = User.objects.get(email="owner@acme.test")
    with psycopg.connect(
        host=database["HOST"],
        port=database["PORT"],
        dbname=database["NAME"],
        user=database["USER"],
        password=database["PASSWORD"],
    ) as other:
        # another signup's transaction holds the spare's lock
        other.execute(
            "SELECT pg_advisory_xact_lock(hashtext('tenant_schema_pool'), hashtext(%s))", [spare]
        )

        tenant = tenant_create(slug="passed-over", name="Passed over", owner=owner)

        other.rollback()
    assert schema_exists(spare) and schema_pool_spares() == [spare]
    assert _names(tenant.schema_name) == _names(settings.TENANT_BASE_SCHEMA)


@pytest.fixture
def racers(django_db_setup: None, django_db_blocker: Any) -> Iterator[list[str]]:
    """Two slugs whose businesses (and the spare) are committed, and removed after."""
    slugs = [f"race-{uuid.uuid4().hex[:6]}" for _ in range(2)]
    with django_db_blocker.unblock():
        yield slugs
        use_public_schema()
        for tenant in Tenant.objects.filter(slug__in=slugs):
            tenant.delete(force_drop=True)
        with connection.cursor() as cursor:
            for spare in schema_pool_spares():
                cursor.execute(f"DROP SCHEMA {connection.ops.quote_name(spare)} CASCADE")


def test_two_signups_racing_for_one_spare_both_succeed_and_only_one_takes_it(racers):
    use_public_schema()
    schema_pool_fill(size=1)
    (spare,) = schema_pool_spares()
    owner = User.objects.get(email="owner@acme.test")
    barrier = threading.Barrier(2)
    made: list[str] = []
    errors: list[BaseException] = []

    def signup(slug: str) -> None:
        try:
            barrier.wait(timeout=10)
            made.append(tenant_create(slug=slug, name=slug, owner=owner).schema_name)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=signup, args=(slug,)) for slug in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    assert sorted(made) == sorted(f"t_{slug.replace('-', '_')}" for slug in racers)
    assert all(schema_exists(schema) for schema in made)
    assert not schema_exists(spare)  # taken by exactly one of them
    assert schema_pool_spares() == []


def _current_schema() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        return str(cursor.fetchone()[0])


def test_copies_and_signups_leave_the_connection_on_the_path_it_selected(racers):
    # (committed: a plain SET inside the copying SQL outlives its transaction)
    owner = User.objects.get(email="owner@acme.test")
    use_public_schema()

    schema_pool_fill(size=1)
    assert _current_schema() == "public"

    tenant_create(slug=racers[0], name="Takes the spare", owner=owner)
    use_public_schema()
    assert _current_schema() == "public"

    tenant_create(slug=racers[1], name="Clones", owner=owner)  # no spare left
    use_public_schema()
    assert _current_schema() == "public"
    assert schema_pool_spares() == []


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["pool_evil", "POOL_x", "pg_temp_9", "public", "tenant_template"])
def test_a_business_schema_never_takes_a_spares_or_a_reserved_name(name):
    with pytest.raises(DatabaseError, match="not a name for a business"), transaction.atomic():
        tenant_schema_clone(schema_name=name)
    assert not schema_exists("pool_evil")
