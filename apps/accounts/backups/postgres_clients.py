"""How backups reach PostgreSQL: Debian's client programs of the server's major version,
and the connection settings of the process (as environment variables for the programs,
as keyword arguments for psycopg)."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings
from django.utils.translation import gettext as _

from apps.accounts.backups.errors import RestoreRefused
from apps.accounts.database_roles import roles_split

# Debian installs each major version's programs side by side here.
POSTGRES_LIBRARY = Path("/usr/lib/postgresql")


def _major(path: Path) -> int:
    version = path.parts[-3]
    return int(version) if version.isdigit() else 0


def client_program(name: str, *, server_major: int | None = None) -> str:
    """The path of PostgreSQL's program `name` (pg_dump, pg_restore, psql, …): the one of
    the server's major version when it is installed (pg_dump refuses a newer server, and
    an older pg_restore cannot read a newer archive), else the newest installed, else
    whatever PATH finds."""
    if server_major is not None:
        exact = POSTGRES_LIBRARY / str(server_major) / "bin" / name
        if exact.is_file():
            return str(exact)
    installed = sorted(POSTGRES_LIBRARY.glob(f"*/bin/{name}"), key=_major, reverse=True)
    if installed:
        return str(installed[0])
    return shutil.which(name) or name


@dataclass(frozen=True)
class DatabaseAccess:
    """Who connects where. `role` is what the session becomes (SET ROLE) before it
    creates anything: the owner, when the process logs in as another role (the tests'
    superuser), so that what a restore creates belongs to the owner as in production."""

    dbname: str
    user: str
    password: str
    host: str
    port: str
    role: str | None

    def environ(self) -> dict[str, str]:
        """The environment of a client program: libpq's variables, so that the password
        never appears on a command line."""
        variables = {"PGDATABASE": self.dbname, "PGUSER": self.user}
        if self.host:
            variables["PGHOST"] = self.host
        if self.port:
            variables["PGPORT"] = str(self.port)
        if self.password:
            variables["PGPASSWORD"] = self.password
        inherited = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        return inherited | variables

    def connect(self, *, autocommit: bool = True) -> psycopg.Connection[Any]:
        return psycopg.connect(
            dbname=self.dbname,
            user=self.user,
            password=self.password or None,
            host=self.host or None,
            port=self.port or None,
            autocommit=autocommit,
            connect_timeout=10,
        )

    def on(self, dbname: str) -> DatabaseAccess:
        return replace(self, dbname=dbname)

    def server_major(self) -> int:
        with self.connect() as conn:
            row = conn.execute("SHOW server_version_num").fetchone()
        return int(row[0]) // 10000 if row else 0


def database_access() -> DatabaseAccess:
    """The process's own connection settings. Backups read every schema and restores
    create them, which only the owner (or a superuser) may: the serving role is refused."""
    db = settings.DATABASES["default"]
    user = str(db["USER"])
    owner = settings.DATABASE_OWNER_USER
    if roles_split() and user == settings.DATABASE_SERVING_USER:
        raise RestoreRefused(
            _(
                "Backups and restores run as the database's owner role: start the command "
                "with DATABASE_ROLE=owner (the serving role may read rows, not schemas)."
            )
        )
    return DatabaseAccess(
        dbname=str(db["NAME"]),
        user=user,
        password=str(db["PASSWORD"] or ""),
        host=str(db["HOST"] or ""),
        port=str(db["PORT"] or ""),
        role=owner if roles_split() and user != owner else None,
    )


def admin_access(access: DatabaseAccess) -> DatabaseAccess:
    """The admin's (a superuser's) access to the same cluster, when one is configured:
    creating a database takes it. Else the process's own."""
    admin = settings.DATABASE_ADMIN_USER
    if not admin or admin == access.user:
        return access
    return replace(access, user=admin, password=settings.DATABASE_ADMIN_PASSWORD or "")
