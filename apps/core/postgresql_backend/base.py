"""django-tenants' backend, remembering the search path PostgreSQL has across schema
switches that land on the same schemas.

django-tenants forgets the path at every `set_tenant` (its middleware switches to
`public` and then to the request's tenant at the start of every request), so every
request on a kept connection began with a `SET search_path` even when the connection
already had exactly that path from the previous request to the same business. Here the
path PostgreSQL holds is known separately from the one selected: a switch to the path
PostgreSQL holds sends nothing. What PostgreSQL holds is forgotten wherever it may have
been undone or lost — a rollback, a savepoint rollback, a failed `SET`, a closed or new
connection — exactly where django-tenants forgets its own (tests/accounts/
test_search_path.py pins both).

PgBouncer is used in session pooling only (ARCHITECTURE.md), where a session's `SET`
stays with the session.

A connection is also closed, between requests or tasks, once it has served
DATABASE_CONNECTION_MAX_SCHEMAS businesses. PostgreSQL keeps the catalogue entries of
every table and index a connection has planned for, for the connection's life: about
250 KB a business, so a kept connection that had served 10,000 businesses would hold
some 2.4 GB (measured by `make bench`). The next query opens a new one.

The same applies to content types: django-tenants empties Django's content-type cache
at every switch because ids differ between schemas; `content_types_remembered` keeps
them per schema for the audit rows of writes (apps/bookings/audit.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django_tenants.postgresql_backend import base
from django_tenants.utils import get_public_schema_name


class DatabaseWrapper(base.DatabaseWrapper):
    # django-tenants': the path it set on this connection (None: set it at the next query).
    search_path_set_schemas: list[str] | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Set before the parent's __init__, which switches to public.
        self.search_path_in_postgres: list[str] | None = None
        # The businesses' schemas this connection has worked in since it was opened.
        self.schemas_served: set[str] = set()
        super().__init__(*args, **kwargs)

    def set_tenant(self, tenant: Any, include_public: bool = True) -> None:
        super().set_tenant(tenant, include_public)
        held = self.search_path_in_postgres
        if held is not None and held == list(self._get_cursor_search_paths()):
            self.search_path_set_schemas = held

    def _handle_search_path(self, cursor: Any = None) -> None:
        super()._handle_search_path(cursor)
        # None after a failed SET: what PostgreSQL has is then unknown.
        held = self.search_path_set_schemas
        self.search_path_in_postgres = list(held) if held is not None else None
        if held is not None:
            self.schemas_note(held)

    def schemas_note(self, schemas: Iterable[str]) -> None:
        """This connection has worked in `schemas` (a search path it set, or tables it
        named by schema)."""
        public = get_public_schema_name()
        self.schemas_served.update(schema for schema in schemas if schema != public)

    def recycle_if_wide(self) -> bool:
        """Closes the connection, outside a transaction, once it has served
        DATABASE_CONNECTION_MAX_SCHEMAS businesses (see above); True if it did."""
        limit = int(getattr(settings, "DATABASE_CONNECTION_MAX_SCHEMAS", 0))
        if limit <= 0 or self.connection is None or self.in_atomic_block:
            return False
        if len(self.schemas_served) < limit:
            return False
        self.close()
        return True

    def close_if_unusable_or_obsolete(self) -> None:
        # Called by Django at each request's start and end, and by Celery around tasks.
        super().close_if_unusable_or_obsolete()
        self.recycle_if_wide()

    def search_path_forget(self) -> None:
        """What PostgreSQL holds is unknown: a function ran a plain `SET search_path`,
        which outlives the function and its transaction (django-tenants' clone_schema
        ends with one, to the path it found on entry: that of the SECURITY DEFINER
        function around it). The next query sets the selected path again."""
        self.search_path_in_postgres = None
        self.search_path_set_schemas = None

    def connect(self) -> None:
        self.search_path_in_postgres = None
        self.schemas_served = set()
        super().connect()

    def close(self) -> None:
        self.search_path_in_postgres = None
        self.schemas_served = set()
        super().close()

    def rollback(self) -> None:
        self.search_path_in_postgres = None
        super().rollback()

    def savepoint_rollback(self, sid: Any) -> None:
        try:
            super().savepoint_rollback(sid)
        finally:
            self.search_path_in_postgres = None
