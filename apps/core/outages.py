"""Which exceptions mean "a service we depend on is out of reach" (answered 503 with
Retry-After by config/service_unavailable.py and the API's envelope), as opposed to a
fault in our own code or data (answered 500, or whatever its error says).

Only connection failures count: PostgreSQL refusing or dropping the connection, or
shutting down; Redis refusing or timing out. A programming error, an integrity error, a
deadlock or a statement timeout says nothing about the service being down and keeps its
own answer. Exceptions are recognised through their whole chain (`__cause__`,
`__context__`): Django wraps psycopg's errors in its own classes, django-redis wraps
redis-py's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import psycopg
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

Dependency = Literal["database", "redis"]

# What a 503 asks clients to wait before trying again: long enough not to hammer a
# service that is coming back, short enough that a restart is barely noticed.
RETRY_AFTER_SECONDS = 30

# SQLSTATEs of a server that is going away or not taking connections: connection
# exceptions (class 08), operator intervention (admin/crash shutdown, "the database system
# is starting up"), too many connections.
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        # `raise … from None` hides the context: so does this walk.
        if current.__cause__ is not None or current.__suppress_context__:
            current = current.__cause__
        else:
            current = current.__context__


def _database_unreachable(exc: psycopg.Error) -> bool:
    if isinstance(exc, psycopg.OperationalError):
        # No SQLSTATE: the failure is the client's (refused, reset, "the connection is
        # closed"); the server did not answer at all.
        sqlstate = exc.sqlstate
        return sqlstate is None or sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES
    if isinstance(exc, psycopg.InterfaceError):
        # psycopg also raises InterfaceError for misuse ("the cursor is closed", a missing
        # dumper): only the ones about the connection's state say it is gone.
        return "connection" in str(exc)
    return False


def outage_dependency(exc: BaseException) -> Dependency | None:
    """The service `exc` says is out of reach, or None when it is some other error."""
    for link in _chain(exc):
        if isinstance(link, psycopg.Error) and _database_unreachable(link):
            return "database"
        if isinstance(link, RedisConnectionError | RedisTimeoutError):
            return "redis"
    return None
