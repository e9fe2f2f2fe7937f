"""Only the owner role may purge the audit trails (ARCHITECTURE.md "Database roles").

0003's guard let an old row go whenever the transaction carried the purge's mark
(`timenest.audit_purge`), and anyone may set a setting: the role that serves requests
could mark its own transaction and delete every row older than seven years. Now:

- `public.audit_trail_guard()` honours the mark only when the deleting role
  (`current_user`) is the one that owns `public.audit_purge_before()`: the owner, inside
  that function. Everything else 0003 says still holds (a younger row never goes,
  TRUNCATE and UPDATE are always refused).
- `public.audit_purge_before()` runs with its owner's rights (SECURITY DEFINER, with a
  fixed search_path), and nobody but its owner may call it: `manage.py audit_purge`
  runs with DATABASE_ROLE=owner.

The serving role owns no table (apps/accounts/database_roles.py), so it can neither
disable nor drop these triggers. Runs in every schema like 0003; the functions live in
`public`, so the last run wins, with the same body.
"""

from django.db import migrations

FUNCTIONS_SQL = """
CREATE OR REPLACE FUNCTION public.audit_trail_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    written_at timestamptz;
BEGIN
    IF TG_OP = 'DELETE' AND TG_LEVEL = 'ROW'
       AND current_setting('timenest.audit_purge', true) = 'on'
       AND current_user = (
           SELECT pg_catalog.pg_get_userbyid(proowner) FROM pg_catalog.pg_proc
           WHERE oid = 'public.audit_purge_before(text, timestamptz)'::regprocedure
       ) THEN
        written_at := (to_jsonb(OLD) ->> TG_ARGV[0])::timestamptz;
        IF written_at < now() - interval '7 years' THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit trail is append-only: % on %.% refused',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;

ALTER FUNCTION public.audit_purge_before(text, timestamptz)
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION public.audit_purge_before(text, timestamptz) FROM PUBLIC;
"""

# 0003's: the mark counts whoever sets it, anyone may purge.
REVERSE_SQL = """
CREATE OR REPLACE FUNCTION public.audit_trail_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    written_at timestamptz;
BEGIN
    IF TG_OP = 'DELETE' AND TG_LEVEL = 'ROW'
       AND current_setting('timenest.audit_purge', true) = 'on' THEN
        written_at := (to_jsonb(OLD) ->> TG_ARGV[0])::timestamptz;
        IF written_at < now() - interval '7 years' THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit trail is append-only: % on %.% refused',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;

ALTER FUNCTION public.audit_purge_before(text, timestamptz) SECURITY INVOKER RESET search_path;
GRANT EXECUTE ON FUNCTION public.audit_purge_before(text, timestamptz) TO PUBLIC;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0004_supportaccess_reason"),
    ]

    operations = [
        migrations.RunSQL(FUNCTIONS_SQL, reverse_sql=REVERSE_SQL),
    ]
