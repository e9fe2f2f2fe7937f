"""Counting the SQL queries a read costs."""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection
from django.test.utils import CaptureQueriesContext


def queries_of(read: Callable[[], object]) -> int:
    """Queries `read()` sends, without django-tenants' `SET search_path` before each."""
    with CaptureQueriesContext(connection) as captured:
        read()
    return sum(1 for query in captured if not query["sql"].startswith("SET search_path"))
