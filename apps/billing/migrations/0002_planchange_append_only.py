"""The plan history is append-only, like the other audit trails (the function comes from
apps/audit/migrations/0002)."""

from django.db import migrations

TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION public.audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit trail is append-only: % on %.% refused',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;
DROP TRIGGER IF EXISTS billing_planchange_append_only ON billing_planchange;
CREATE TRIGGER billing_planchange_append_only
    BEFORE UPDATE OR DELETE ON billing_planchange
    FOR EACH ROW EXECUTE FUNCTION public.audit_append_only();
"""

REVERSE_SQL = "DROP TRIGGER IF EXISTS billing_planchange_append_only ON billing_planchange;"


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunSQL(TRIGGER_SQL, reverse_sql=REVERSE_SQL)]
