"""The database's two roles (ARCHITECTURE.md "Database roles").

- The **serving role** (`settings.DATABASE_SERVING_USER`; web, worker, beat) reads and
  writes rows: USAGE on `public` and on each tenant's schema, SELECT, INSERT, UPDATE and
  DELETE on their tables, USAGE, SELECT and UPDATE on their sequences. It owns nothing,
  may not TRUNCATE, and has no access to the template schema (whose rows every new
  tenant would inherit). So it cannot disable, drop or get round the audit trail's
  guard (apps/audit/migrations/0004).
- The **owner role** (`settings.DATABASE_OWNER_USER`) owns the database and everything in
  it: it runs the migrations (`setup_database`), drops a purged business's schema
  (`tenant_purge`) and is the only role that may run the audit retention purge
  (`audit_purge`). Those commands run with DATABASE_ROLE=owner.
- An optional **admin** (`settings.DATABASE_ADMIN_USER`, a superuser) is what
  `setup_database` creates the two roles with, gives the database to the owner with,
  and hands over to the owner whatever another role created.

A serving process creates a business's schema through the one function the owner
installs here, `public.tenant_schema_clone(name)`: it runs with the owner's rights
(SECURITY DEFINER), clones only the template, into a new schema only, and grants the
serving role its rows there. django-tenants would instead re-create its `clone_schema`
function on every call, which only the function's owner may do.

Without a separate owner (POSTGRES_OWNER_USER unset) one role does both, as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterator
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django_tenants.clone import CLONE_SCHEMA_FUNCTION, CloneSchema

from apps.core.tenancy import search_path_forget

logger = logging.getLogger(__name__)


def roles_split() -> bool:
    """Whether the serving role and the owner are two roles (else one does both)."""
    return bool(settings.DATABASE_OWNER_USER != settings.DATABASE_SERVING_USER)


def _quoted_literal(value: str) -> str:
    # standard_conforming_strings is on (PostgreSQL's default since 9.1).
    return "'" + value.replace("'", "''") + "'"


def _run_generated(cursor: Any, query: str, params: list[Any]) -> int:
    """Runs the statements that `query` (one text column) generates; how many."""
    cursor.execute(query, params)
    statements = [row[0] for row in cursor.fetchall()]
    for statement in statements:
        cursor.execute(statement)
    return len(statements)


@contextlib.contextmanager
def _admin_cursor() -> Iterator[Any]:
    """A cursor of the admin on this database (autocommit), or None without one."""
    admin = settings.DATABASE_ADMIN_USER
    db = connection.settings_dict
    if not admin:
        yield None
    elif admin == db["USER"]:
        with connection.cursor() as cursor:
            yield cursor
    else:
        with (
            psycopg.connect(
                dbname=db["NAME"],
                user=admin,
                password=settings.DATABASE_ADMIN_PASSWORD or None,
                host=db["HOST"] or None,
                port=db["PORT"] or None,
                autocommit=True,
                connect_timeout=10,
            ) as admin_connection,
            admin_connection.cursor() as cursor,
        ):
            yield cursor


def _role_ensure(cursor: Any, *, role: str, password: str) -> None:
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
    row = cursor.fetchone()
    if row is None:
        # Two set-ups at once (test sessions of one cluster) may both see it missing.
        _run_generated(
            cursor,
            "SELECT format('DO $do$ BEGIN CREATE ROLE %%I LOGIN%%s; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $do$', %s::text, "
            "CASE WHEN %s::text = '' THEN '' ELSE ' PASSWORD ' || quote_literal(%s::text) END)",
            [role, password, password],
        )
        logger.info("database.role_created", extra={"role": role})
        return
    if password:  # the environment's password is the one that counts
        _run_generated(
            cursor,
            "SELECT format('ALTER ROLE %%I PASSWORD %%L', %s::text, %s::text)",
            [role, password],
        )
    if row[0]:
        logger.warning(
            "database.role_is_superuser",
            extra={"role": role, "why": "a superuser can rewrite the audit trail"},
        )


# Every object of the application's schemas that another role owns (a superuser ran the
# migrations, or one role did everything before the split), as ALTER … OWNER TO the
# owner. Objects of extensions stay theirs; sequences of a column follow their table.
_HAND_OVER_SQL = """
WITH target AS (SELECT %s::regrole AS owner, %s::text AS owner_name),
app_schemas AS (
    SELECT n.oid, n.nspname, n.nspowner FROM pg_namespace n
    WHERE n.nspname NOT LIKE 'pg\\_%%' AND n.nspname <> 'information_schema'
),
extension_members AS (
    SELECT d.classid, d.objid FROM pg_depend d WHERE d.deptype = 'e'
)
SELECT format('ALTER SCHEMA %%I OWNER TO %%I', s.nspname, target.owner_name)
FROM app_schemas s, target
WHERE s.nspowner NOT IN (target.owner, 'pg_database_owner'::regrole)
  AND ('pg_namespace'::regclass::oid, s.oid) NOT IN (SELECT * FROM extension_members)
UNION ALL
SELECT format('ALTER %%s %%I.%%I OWNER TO %%I',
              CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                             WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE'
                             ELSE 'TABLE' END,
              s.nspname, c.relname, target.owner_name)
FROM pg_class c JOIN app_schemas s ON s.oid = c.relnamespace, target
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND c.relowner <> target.owner
  AND ('pg_class'::regclass::oid, c.oid) NOT IN (SELECT * FROM extension_members)
  AND NOT (c.relkind = 'S' AND EXISTS (
      SELECT 1 FROM pg_depend d
      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
        AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
UNION ALL
SELECT format('ALTER %%s %%s OWNER TO %%I',
              CASE p.prokind WHEN 'a' THEN 'AGGREGATE' WHEN 'p' THEN 'PROCEDURE'
                             ELSE 'FUNCTION' END,
              p.oid::regprocedure, target.owner_name)
FROM pg_proc p JOIN app_schemas s ON s.oid = p.pronamespace, target
WHERE p.proowner <> target.owner
  AND ('pg_proc'::regclass::oid, p.oid) NOT IN (SELECT * FROM extension_members)
UNION ALL
SELECT format('ALTER TYPE %%I.%%I OWNER TO %%I', s.nspname, t.typname, target.owner_name)
FROM pg_type t JOIN app_schemas s ON s.oid = t.typnamespace, target
WHERE t.typowner <> target.owner
  AND (t.typtype IN ('e', 'd', 'r')
       OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
  AND ('pg_type'::regclass::oid, t.oid) NOT IN (SELECT * FROM extension_members)
"""


def database_roles_ensure() -> bool:
    """With an admin: both roles exist (with the environment's passwords), the owner owns
    this database, nobody else may create in `public`, and everything already there is
    the owner's. Returns False when there is nothing to do (one role does both) or no
    admin to do it (the roles were then made by whoever runs the database)."""
    if not roles_split():
        logger.warning(
            "database.one_role",
            extra={"why": "POSTGRES_OWNER_USER is not set: the serving role owns the tables"},
        )
        return False
    owner, serving = settings.DATABASE_OWNER_USER, settings.DATABASE_SERVING_USER
    with _admin_cursor() as cursor:
        if cursor is None:
            return False
        _role_ensure(cursor, role=owner, password=settings.DATABASE_OWNER_PASSWORD)
        _role_ensure(cursor, role=serving, password=settings.DATABASE_SERVING_PASSWORD)
        _run_generated(
            cursor,
            "SELECT format('ALTER DATABASE %%I OWNER TO %%I', datname, %s::text) "
            "FROM pg_database WHERE datname = current_database() AND datdba <> %s::regrole",
            [owner, owner],
        )
        _run_generated(
            cursor,
            "SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %%I TO %%I', "
            "current_database(), %s::text) WHERE NOT has_database_privilege(%s::text, "
            "current_database(), 'CONNECT')",
            [serving, serving],
        )
        # PostgreSQL 15 no longer lets everyone create in `public`; a cluster upgraded
        # from before still does.
        cursor.execute(
            "SELECT has_schema_privilege('public', 'public', 'CREATE')"
            " FROM pg_roles WHERE rolname = 'pg_database_owner'"
        )
        if (cursor.fetchone() or [False])[0]:
            cursor.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        database_objects_hand_over(cursor)
    return True


def database_objects_hand_over(cursor: Any = None) -> int:
    """Gives the owner whatever another role owns in the application's schemas (admin
    only: changing an owner takes a superuser). Returns how many objects moved."""
    if not roles_split():
        return 0
    if cursor is None:
        with _admin_cursor() as admin:
            return 0 if admin is None else database_objects_hand_over(admin)
    owner = settings.DATABASE_OWNER_USER
    moved = _run_generated(cursor, _HAND_OVER_SQL, [owner, owner])
    if moved:
        logger.info("database.objects_handed_over", extra={"owner": owner, "objects": moved})
    return moved


# What the serving role may do, in each application schema but the template: SELECT,
# INSERT, UPDATE and DELETE on tables, USAGE, SELECT and UPDATE on sequences, and no
# TRUNCATE, REFERENCES or TRIGGER; nothing at all in the template.
_GRANTS_SQL = """
WITH role AS (SELECT %s::text AS serving, %s::text AS template),
app_schemas AS (
    SELECT n.oid, n.nspname, n.nspname = role.template AS is_template
    FROM pg_namespace n, role
    WHERE n.nspname NOT LIKE 'pg\\_%%' AND n.nspname <> 'information_schema'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d
                      WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid
                        AND d.deptype = 'e')
),
app_relations AS (
    SELECT c.oid, c.relkind, s.nspname, c.relname, s.is_template
    FROM pg_class c JOIN app_schemas s ON s.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
)
SELECT format('GRANT USAGE ON SCHEMA %%I TO %%I', s.nspname, role.serving)
FROM app_schemas s, role
WHERE NOT s.is_template AND NOT has_schema_privilege(role.serving, s.oid, 'USAGE')
UNION ALL
SELECT format('REVOKE ALL ON SCHEMA %%I FROM %%I', s.nspname, role.serving)
FROM app_schemas s, role
WHERE s.is_template AND has_schema_privilege(role.serving, s.oid, 'USAGE')
UNION ALL
SELECT format('GRANT SELECT, INSERT, UPDATE, DELETE ON %%I.%%I TO %%I',
              r.nspname, r.relname, role.serving)
FROM app_relations r, role
WHERE NOT r.is_template AND r.relkind <> 'S'
  AND NOT (has_table_privilege(role.serving, r.oid, 'SELECT')
           AND has_table_privilege(role.serving, r.oid, 'INSERT')
           AND has_table_privilege(role.serving, r.oid, 'UPDATE')
           AND has_table_privilege(role.serving, r.oid, 'DELETE'))
UNION ALL
SELECT format('REVOKE TRUNCATE, REFERENCES, TRIGGER ON %%I.%%I FROM %%I',
              r.nspname, r.relname, role.serving)
FROM app_relations r, role
WHERE NOT r.is_template AND r.relkind <> 'S'
  AND (has_table_privilege(role.serving, r.oid, 'TRUNCATE')
       OR has_table_privilege(role.serving, r.oid, 'REFERENCES')
       OR has_table_privilege(role.serving, r.oid, 'TRIGGER'))
UNION ALL
SELECT format('GRANT USAGE, SELECT, UPDATE ON SEQUENCE %%I.%%I TO %%I',
              r.nspname, r.relname, role.serving)
FROM app_relations r, role
WHERE NOT r.is_template AND r.relkind = 'S'
  AND NOT (has_sequence_privilege(role.serving, r.oid, 'USAGE')
           AND has_sequence_privilege(role.serving, r.oid, 'SELECT')
           AND has_sequence_privilege(role.serving, r.oid, 'UPDATE'))
UNION ALL
SELECT format('REVOKE ALL ON %%I.%%I FROM %%I', r.nspname, r.relname, role.serving)
FROM app_relations r JOIN pg_class c ON c.oid = r.oid, role
WHERE r.is_template
  AND EXISTS (SELECT 1 FROM aclexplode(c.relacl) acl
              WHERE acl.grantee = role.serving::regrole)
"""


def database_grants_ensure(cursor: Any = None) -> int:
    """The serving role's privileges on what exists (see the module's docstring), and the
    owner's default privileges for what its migrations create later, in any schema.
    Run as the owner (or a superuser), on this database or on the one `cursor` (a
    psycopg cursor: a restore's target) is connected to. Returns how many grants and
    revokes it made."""
    if not roles_split():
        return 0
    if cursor is None:
        with connection.cursor() as django_cursor:
            return database_grants_ensure(django_cursor)
    owner, serving = settings.DATABASE_OWNER_USER, settings.DATABASE_SERVING_USER
    _run_generated(
        cursor,
        "SELECT format('ALTER DEFAULT PRIVILEGES FOR ROLE %%I GRANT "
        "SELECT, INSERT, UPDATE, DELETE ON TABLES TO %%I', %s::text, %s::text) "
        "UNION ALL SELECT format('ALTER DEFAULT PRIVILEGES FOR ROLE %%I GRANT "
        "USAGE, SELECT, UPDATE ON SEQUENCES TO %%I', %s::text, %s::text)",
        [owner, serving, owner, serving],
    )
    changed = _run_generated(cursor, _GRANTS_SQL, [serving, settings.TENANT_BASE_SCHEMA])
    if changed:
        logger.info("database.grants_changed", extra={"role": serving, "statements": changed})
    return changed


# The one way a serving process creates a schema. `{template}` and `{serving}` are
# quoted literals, set when it is installed; the renames give the clone's unique
# constraints the template's names (provisioning.schema_constraint_names_restore).
#
# A pool of spare copies (apps/accounts/schema_pool.py) makes a signup independent of
# how long a clone takes (it grows with the catalogue: django-tenants' clone function
# reads information_schema, whose views scan every schema's tables): a spare schema is
# `pool_<random>`, commented with the stamp of the template's migrations it was copied
# at (`tenant_schema_stamp`), and `tenant_schema_clone` renames a spare with the current
# stamp to the new business's name. A spare being taken is held by a transaction-scoped
# advisory lock, so two signups never take the same one; spares of an older template
# (a deploy migrated it since) are never taken and are dropped by the next fill.
_TENANT_SCHEMA_CLONE_SQL = r"""
CREATE OR REPLACE FUNCTION public.tenant_schema_stamp() RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $fn$
DECLARE
    stamp text;
BEGIN
    -- The copying code's version and the template's migrations: a spare copied by older
    -- code, or from an older template, is never taken.
    EXECUTE format(
        $q$SELECT md5(%L || coalesce(string_agg(app || '.' || name, ',' ORDER BY app, name), ''))
           FROM %I.django_migrations$q$, {code_version}, {template}) INTO stamp;
    RETURN stamp;
END;
$fn$;

CREATE OR REPLACE FUNCTION public.tenant_schema_name_check(new_schema text, spare boolean)
RETURNS void LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public, pg_temp AS $fn$
BEGIN
    -- A business's schema, or a spare's (`pool_…`), never PostgreSQL's or the template.
    IF new_schema IS NULL OR new_schema !~ '^[_a-zA-Z][_a-zA-Z0-9]{{0,62}}$'
       OR new_schema ~* '^pg_' OR (new_schema ~* '^pool_') <> spare
       OR lower(new_schema) IN ('public', lower({template})) THEN
        RAISE EXCEPTION 'not a name for a business''s schema: %', new_schema
            USING ERRCODE = 'invalid_schema_name';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_namespace WHERE lower(nspname) = lower(new_schema)) THEN
        RAISE EXCEPTION 'schema % exists already', new_schema
            USING ERRCODE = 'duplicate_schema';
    END IF;
END;
$fn$;

CREATE OR REPLACE FUNCTION public.tenant_schema_copy(new_schema text, spare boolean)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $fn$
DECLARE
    template constant text := {template};
    serving constant text := {serving};
    statement text;
BEGIN
    PERFORM public.tenant_schema_name_check(new_schema, spare);
    PERFORM public.clone_schema(template, new_schema, 'DATA');
    FOR statement IN
        SELECT format('ALTER TABLE %I.%I RENAME CONSTRAINT %I TO %I',
                      clone_ns.nspname, clone_rel.relname, clone_con.conname,
                      template_con.conname)
        FROM pg_constraint template_con
        JOIN pg_class template_rel ON template_rel.oid = template_con.conrelid
        JOIN pg_namespace template_ns ON template_ns.oid = template_rel.relnamespace
        JOIN pg_namespace clone_ns ON clone_ns.nspname = new_schema
        JOIN pg_class clone_rel
          ON clone_rel.relnamespace = clone_ns.oid AND clone_rel.relname = template_rel.relname
        JOIN pg_constraint clone_con
          ON clone_con.conrelid = clone_rel.oid AND clone_con.contype = 'u'
         AND pg_get_constraintdef(clone_con.oid) = pg_get_constraintdef(template_con.oid)
        WHERE template_ns.nspname = template
          AND template_con.contype = 'u'
          AND clone_con.conname <> template_con.conname
          AND NOT EXISTS (
              SELECT 1 FROM pg_constraint taken
              WHERE taken.conrelid = clone_rel.oid AND taken.conname = template_con.conname)
    LOOP
        EXECUTE statement;
    END LOOP;
    IF serving <> current_user THEN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', new_schema, serving);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I',
                       new_schema, serving);
        EXECUTE format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO %I',
                       new_schema, serving);
    END IF;
END;
$fn$;

CREATE OR REPLACE FUNCTION public.tenant_schema_clone(new_schema text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $fn$
DECLARE
    stamp constant text := public.tenant_schema_stamp();
    spare text;
BEGIN
    PERFORM public.tenant_schema_name_check(new_schema, false);
    FOR spare IN
        SELECT n.nspname FROM pg_namespace n
        WHERE n.nspname LIKE 'pool\_%' AND obj_description(n.oid, 'pg_namespace') = stamp
        ORDER BY n.nspname
    LOOP
        -- Held until this signup's transaction ends: no other signup takes it meanwhile.
        CONTINUE WHEN NOT pg_try_advisory_xact_lock(
            hashtext('tenant_schema_pool'), hashtext(spare));
        BEGIN
            EXECUTE format('ALTER SCHEMA %I RENAME TO %I', spare, new_schema);
        EXCEPTION WHEN invalid_schema_name THEN
            CONTINUE;  -- taken (and committed) since the list was read
        END;
        EXECUTE format('COMMENT ON SCHEMA %I IS NULL', new_schema);
        RETURN;
    END LOOP;
    PERFORM public.tenant_schema_copy(new_schema, false);
END;
$fn$;

CREATE OR REPLACE FUNCTION public.tenant_schema_pool_add() RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $fn$
DECLARE
    stamp constant text := public.tenant_schema_stamp();
    spare constant text := 'pool_' || substr(md5(random()::text || clock_timestamp()::text), 1, 20);
BEGIN
    PERFORM public.tenant_schema_copy(spare, true);
    EXECUTE format('COMMENT ON SCHEMA %I IS %L', spare, stamp);
    RETURN spare;
END;
$fn$;

CREATE OR REPLACE FUNCTION public.tenant_schema_pool_prune(keep integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $fn$
DECLARE
    stamp constant text := public.tenant_schema_stamp();
    spare text;
    current_copy boolean;
    kept integer := 0;
    dropped integer := 0;
BEGIN
    FOR spare, current_copy IN
        SELECT n.nspname, obj_description(n.oid, 'pg_namespace') IS NOT DISTINCT FROM stamp
        FROM pg_namespace n
        WHERE n.nspname LIKE 'pool\_%'
        ORDER BY 2 DESC, 1
    LOOP
        IF current_copy AND kept < keep THEN
            kept := kept + 1;
            CONTINUE;
        END IF;
        CONTINUE WHEN NOT pg_try_advisory_xact_lock(
            hashtext('tenant_schema_pool'), hashtext(spare));
        EXECUTE format('DROP SCHEMA IF EXISTS %I CASCADE', spare);
        dropped := dropped + 1;
    END LOOP;
    RETURN dropped;
END;
$fn$;
"""

# What the serving role may run of them (the helpers only through them).
_TENANT_SCHEMA_FUNCTIONS = (
    "public.tenant_schema_clone(text)",
    "public.tenant_schema_pool_add()",
    "public.tenant_schema_pool_prune(integer)",
    "public.tenant_schema_stamp()",
)
_TENANT_SCHEMA_HELPERS = (
    "public.tenant_schema_copy(text, boolean)",
    "public.tenant_schema_name_check(text, boolean)",
)


def tenant_clone_install() -> bool:
    """Installs (when missing or changed) django-tenants' `clone_schema` and the owner's
    `public.tenant_schema_clone`, which only the serving role and the owner may run.
    Run as the owner (a superuser's install is handed over afterwards). Returns whether
    it installed them."""
    serving = settings.DATABASE_SERVING_USER
    names = {
        "template": _quoted_literal(settings.TENANT_BASE_SCHEMA),
        "serving": _quoted_literal(serving),
    }
    code = _TENANT_SCHEMA_CLONE_SQL.format(code_version="''", **names)
    version = hashlib.sha256((CLONE_SCHEMA_FUNCTION + code).encode()).hexdigest()[:16]
    wrapper = _TENANT_SCHEMA_CLONE_SQL.format(code_version=_quoted_literal(version), **names)
    label = f"timenest tenant_schema_clone {version}"
    # One transaction: nobody may run a function between its creation and its REVOKE.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT obj_description(to_regprocedure('public.tenant_schema_clone(text)'), 'pg_proc')"
        )
        if cursor.fetchone()[0] == label:
            return False
        # Its SQL re-creates its types and functions; the owner does it once here, so
        # that requests never need to.
        CloneSchema()._create_clone_schema_function()
        cursor.execute(wrapper)
        for function in (*_TENANT_SCHEMA_FUNCTIONS, *_TENANT_SCHEMA_HELPERS):
            cursor.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        for function in _TENANT_SCHEMA_FUNCTIONS:
            _run_generated(
                cursor,
                f"SELECT format('GRANT EXECUTE ON FUNCTION {function} TO %%I', %s::text)",
                [serving],
            )
        # Last: the label says all of the above is in place.
        cursor.execute(f"COMMENT ON FUNCTION public.tenant_schema_clone(text) IS '{label}'")
    logger.info("database.clone_installed", extra={"version": version})
    return True


def tenant_clone_installed() -> bool:
    """Whether `public.tenant_schema_clone` exists (setup_database installs it)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regprocedure('public.tenant_schema_clone(text)') IS NOT NULL")
        return bool(cursor.fetchone()[0])


def tenant_schema_clone(*, schema_name: str) -> None:
    """Creates `schema_name` as a copy of the template, owned by the owner, through the
    owner's function (the caller needs only EXECUTE on it): a spare renamed when one
    waits (apps/accounts/schema_pool.py), else a clone."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT public.tenant_schema_clone(%s)", [schema_name])
    finally:
        search_path_forget()  # a clone ends with a plain SET search_path
