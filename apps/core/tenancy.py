"""Typed access to the schema the database connection is on (django-tenants adds these
attributes to its backend; the stubs only know Django's base wrapper)."""

from __future__ import annotations

from typing import Any, cast

from django.db import connection


def current_schema() -> str:
    return str(getattr(connection, "schema_name", "public"))


def use_public_schema() -> None:
    cast(Any, connection).set_schema_to_public()


def search_path_forget() -> None:
    """After SQL that may have run a plain `SET search_path` (the template's clone): the
    next query on this connection sets the selected path again (apps/core/
    postgresql_backend)."""
    forget = getattr(connection, "search_path_forget", None)
    if forget is not None:
        forget()


def use_tenant(tenant: object) -> None:
    """Points this thread's connection at `tenant`'s schema (outside `tenant_context`)."""
    cast(Any, connection).set_tenant(tenant)
