"""Plugin: session-scoped test tenants on real PostgreSQL and Redis.

The test database is cloned from the migrated development database when it does not
exist yet (a schema migration pass with dj-stripe costs over a minute; a clone costs a
second), stripped of every tenant but `public`, and then gets `acme` and `globex`.
Per-test rollback covers all schemas because they share one connection.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from django.conf import settings
from django_tenants.utils import tenant_context
from pytest_django.plugin import blocking_manager_key

from apps.accounts.middleware import tenant_routes_forget
from apps.accounts.models import Tenant, User
from apps.accounts.provisioning import database_setup, public_tenant_ensure
from apps.accounts.services import tenant_create
from apps.core.tenancy import use_public_schema
from tests.plugins.audit_guard import audit_guard_lift_for_session


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """A transactional test's flush (browser tests: live server) truncates the public
    tables, tenant rows included, while tenant schemas stay. Put the public tenant and
    the test tenants back once it is done, so whatever runs next finds them."""
    marker = item.get_closest_marker("django_db")
    transactional = "transactional_db" in getattr(item, "fixturenames", ()) or bool(
        marker and marker.kwargs.get("transaction")
    )
    if transactional:
        # The flush lists the tables of the connection's schema: a test that served a
        # request on this thread left it in a tenant's, so go back to public first.
        with item.config.stash[blocking_manager_key].unblock():
            use_public_schema()
            # The flush TRUNCATEs the public audit trails, which refuse it.
            audit_guard_lift_for_session(True)
    result = yield
    if transactional:
        with item.config.stash[blocking_manager_key].unblock():
            audit_guard_lift_for_session(False)
            # A test may have left this thread's connection in a tenant's schema.
            use_public_schema()
            public_tenant_ensure()
            ensure_test_tenants()
    return result


@pytest.fixture(autouse=True)
def _tenant_routes_forgotten() -> Iterator[None]:
    """Each test starts with an empty routing cache: a tenant row a test changed is
    rolled back afterwards, but a worker's memory of it would survive."""
    tenant_routes_forget()
    yield
    tenant_routes_forget()


TEST_TENANTS = {
    "acme": ("Acme Clinic", "Europe/London"),
    "globex": ("Globex Consulting", "America/New_York"),
}


def _admin_conninfo(dbname: str) -> dict[str, object]:
    db = settings.DATABASES["default"]
    return {
        "dbname": dbname,
        "user": db["USER"],
        "password": db["PASSWORD"] or None,
        "host": db["HOST"],
        "port": db["PORT"],
        "autocommit": True,
    }


def _clone_development_database(test_name: str) -> bool:
    """CREATE DATABASE … TEMPLATE the dev DB, when the test DB is missing. Falls back
    (returns False) when the dev DB is busy or absent; Django then migrates from zero."""
    source = settings.DATABASES["default"]["NAME"]
    with psycopg.connect(**_admin_conninfo("postgres")) as admin:  # type: ignore[arg-type]
        exists = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [test_name]
        ).fetchone()
        if exists:
            return False
        try:
            admin.execute(f'CREATE DATABASE "{test_name}" TEMPLATE "{source}"')
        except psycopg.Error:
            return False
    with psycopg.connect(**_admin_conninfo(test_name)) as clone:  # type: ignore[arg-type]
        schemas = clone.execute(
            "SELECT schema_name FROM accounts_tenant WHERE schema_name <> 'public'"
        ).fetchall()
        # The development database's spare schemas (apps/accounts/schema_pool.py) too.
        schemas += clone.execute(
            r"SELECT nspname FROM pg_namespace WHERE nspname LIKE 'pool\_%'"
        ).fetchall()
        for (schema,) in schemas:
            clone.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        # The CASCADE reaches the model history (its actors are users), whose audit
        # guard refuses a TRUNCATE unless this session replays as a replica.
        clone.execute("SET session_replication_role = replica")
        clone.execute(
            "TRUNCATE accounts_user, django_session, accounts_signuprequest, axes_accessattempt "
            "CASCADE"
        )
        clone.execute(
            "DELETE FROM accounts_domain WHERE tenant_id IN "
            "(SELECT id FROM accounts_tenant WHERE schema_name <> 'public')"
        )
        # Public rows that name the businesses deleted here (replica mode skips foreign
        # keys, and a backup would carry the orphans into its restore).
        clone.execute(
            "TRUNCATE directory_index_directoryentry, directory_index_directoryrefresh, "
            "accounts_tenantworkdue"
        )
        clone.execute("DELETE FROM accounts_tenant WHERE schema_name <> 'public'")
    return True


def _commits_asynchronous(test_name: str) -> None:
    """The local cluster is durable (config/local/services.sh); a test database need
    not be. With synchronous_commit off a commit does not wait for its WAL to reach the
    disk: a crash could lose the last commits, never corrupt anything, and tests commit
    often. Set on the database, so every connection gets it (a worker's, a live
    server's); this session's connection is closed to pick it up too."""
    from django.db import connections

    with psycopg.connect(**_admin_conninfo("postgres")) as admin:  # type: ignore[arg-type]
        admin.execute(f'ALTER DATABASE "{test_name}" SET synchronous_commit = off')
    connections["default"].close()


def _test_database_name() -> str:
    from django.db import connections

    return connections["default"].creation._get_test_db_name()  # type: ignore[attr-defined]


def ensure_test_tenants() -> dict[str, Tenant]:
    tenants = {}
    for slug, (name, tz) in TEST_TENANTS.items():
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            owner, _ = User.objects.get_or_create(email=f"owner@{slug}.test")
            tenant = tenant_create(slug=slug, name=name, owner=owner, timezone=tz)
        tenants[slug] = tenant
    return tenants


@pytest.fixture(scope="session")
def django_db_setup(django_db_blocker: pytest.FixtureRequest) -> None:
    from django.test.utils import setup_databases

    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        _clone_development_database(_test_database_name())
        setup_databases(verbosity=0, interactive=False, keepdb=True)
        _commits_asynchronous(_test_database_name())
        database_setup(verbosity=0)
        ensure_test_tenants()


@pytest.fixture
def acme(db: None) -> Iterator[Tenant]:
    """Runs the test inside acme's schema."""
    tenant = Tenant.objects.get(slug="acme")
    with tenant_context(tenant):
        yield tenant


@pytest.fixture
def globex(db: None) -> Tenant:
    return Tenant.objects.get(slug="globex")


@pytest.fixture
def acme_host() -> str:
    return f"acme.{settings.BASE_DOMAIN}"


@pytest.fixture
def globex_host() -> str:
    return f"globex.{settings.BASE_DOMAIN}"
