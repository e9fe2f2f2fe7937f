"""SupportAccess is append-only: the database refuses UPDATE and DELETE on its rows.

As for booking history, the trigger function lives in `public` (schema-qualified,
created idempotently by every schema's run), so tenant schemas cloned from the template
keep pointing at it and dropping a tenant drops only its trigger.
"""

from django.db import migrations

FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION public.audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit trail is append-only: % on %.% refused',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;
"""

TRIGGER_SQL = """
DROP TRIGGER IF EXISTS audit_supportaccess_append_only ON audit_supportaccess;
CREATE TRIGGER audit_supportaccess_append_only
    BEFORE UPDATE OR DELETE ON audit_supportaccess
    FOR EACH ROW EXECUTE FUNCTION public.audit_append_only();
"""

REVERSE_SQL = "DROP TRIGGER IF EXISTS audit_supportaccess_append_only ON audit_supportaccess;"


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.RunSQL(FUNCTION_SQL + TRIGGER_SQL, reverse_sql=REVERSE_SQL),
    ]
