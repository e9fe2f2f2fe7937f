"""Every audit trail is append-only, model history included, and kept seven years.

Runs in `public` and in every tenant schema (auditlog and this app are in both), in order:

1. Customer names out of the model history, once: the diffs and the object
   representation of existing entries about customers are blanked (from now on the
   registration leaves the name out, apps/bookings/audit.py). This must come before the
   guard below, which would refuse the UPDATE.
2. `public.audit_trail_guard()`, the one trigger function of every audit table (here, in
   apps/bookings 0008 and apps/billing 0005): it refuses UPDATE and DELETE of a row and
   TRUNCATE of the table. Its only way out is `public.audit_purge_before()`, which marks
   its own transaction (`timenest.audit_purge`) and deletes rows older than seven years;
   the guard checks the row's age itself (the trigger's argument names the column), so
   a younger row is never deleted, whoever sets the mark. A new name rather than a new
   body for `public.audit_append_only()`: older migrations re-create that one when they
   run in a new schema, and would put the old body back.
3. The triggers on `auditlog_logentry` (none until now) and on `audit_supportaccess`
   (its row trigger moves to the new function; TRUNCATE is refused too).

Both functions live in `public`, so a tenant schema cloned from the template keeps
triggers that resolve (django-tenants' clone copies a trigger whose function is in
`public`, schema-qualified), and dropping a tenant drops only its triggers.
"""

from django.db import migrations

# 1. Names and contact details of customers out of existing entries. Customer entries
# are found by their content type in this schema's own django_content_type.
CUSTOMER_ENTRIES_BLANK_SQL = """
WITH customer_type AS (
    SELECT id FROM django_content_type WHERE app_label = 'bookings' AND model = 'customer'
)
UPDATE auditlog_logentry AS entry
SET changes = CASE
        WHEN jsonb_typeof(entry.changes) = 'object' THEN (
            SELECT coalesce(jsonb_object_agg(
                change.key,
                CASE WHEN change.key IN ('name', 'email', 'phone', 'email_encrypted',
                                         'phone_encrypted', 'email_hash', 'phone_hash')
                     THEN '["", ""]'::jsonb
                     ELSE change.value END), '{}'::jsonb)
            FROM jsonb_each(entry.changes) AS change
        )
        ELSE entry.changes
    END,
    changes_text = '',
    serialized_data = NULL,
    object_repr = 'customer ' || entry.object_pk
WHERE entry.content_type_id IN (SELECT id FROM customer_type);
"""

# 2. The guard and the purge.
FUNCTIONS_SQL = """
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

CREATE OR REPLACE FUNCTION public.audit_purge_before(target_schema text, cutoff timestamptz)
RETURNS TABLE (trail text, removed bigint)
LANGUAGE plpgsql AS $$
DECLARE
    kept_from timestamptz := least(cutoff, now() - interval '7 years');
    audit_table record;
BEGIN
    PERFORM set_config('timenest.audit_purge', 'on', true);
    FOR audit_table IN
        SELECT listed.table_name, listed.written_at
        FROM (VALUES
            ('auditlog_logentry', 'timestamp'),
            ('audit_supportaccess', 'created_at'),
            ('bookings_bookingevent', 'created_at'),
            ('billing_planchange', 'created_at')
        ) AS listed (table_name, written_at)
        WHERE to_regclass(format('%I.%I', target_schema, listed.table_name)) IS NOT NULL
    LOOP
        trail := audit_table.table_name;
        EXECUTE format(
            'DELETE FROM %I.%I WHERE %I < $1',
            target_schema, audit_table.table_name, audit_table.written_at
        ) USING kept_from;
        GET DIAGNOSTICS removed = ROW_COUNT;
        RETURN NEXT;
    END LOOP;
    -- The rest of the caller's transaction is guarded again.
    PERFORM set_config('timenest.audit_purge', 'off', true);
END;
$$;
"""

# 3. The triggers of this app's tables in this schema.
TRIGGERS_SQL = """
DROP TRIGGER IF EXISTS auditlog_logentry_append_only ON auditlog_logentry;
CREATE TRIGGER auditlog_logentry_append_only
    BEFORE UPDATE OR DELETE ON auditlog_logentry
    FOR EACH ROW EXECUTE FUNCTION public.audit_trail_guard('timestamp');
DROP TRIGGER IF EXISTS auditlog_logentry_no_truncate ON auditlog_logentry;
CREATE TRIGGER auditlog_logentry_no_truncate
    BEFORE TRUNCATE ON auditlog_logentry
    FOR EACH STATEMENT EXECUTE FUNCTION public.audit_trail_guard();

DROP TRIGGER IF EXISTS audit_supportaccess_append_only ON audit_supportaccess;
CREATE TRIGGER audit_supportaccess_append_only
    BEFORE UPDATE OR DELETE ON audit_supportaccess
    FOR EACH ROW EXECUTE FUNCTION public.audit_trail_guard('created_at');
DROP TRIGGER IF EXISTS audit_supportaccess_no_truncate ON audit_supportaccess;
CREATE TRIGGER audit_supportaccess_no_truncate
    BEFORE TRUNCATE ON audit_supportaccess
    FOR EACH STATEMENT EXECUTE FUNCTION public.audit_trail_guard();
"""

# The functions stay on the way back: other schemas' triggers may still use them.
REVERSE_TRIGGERS_SQL = """
DROP TRIGGER IF EXISTS auditlog_logentry_append_only ON auditlog_logentry;
DROP TRIGGER IF EXISTS auditlog_logentry_no_truncate ON auditlog_logentry;
DROP TRIGGER IF EXISTS audit_supportaccess_no_truncate ON audit_supportaccess;
DROP TRIGGER IF EXISTS audit_supportaccess_append_only ON audit_supportaccess;
CREATE TRIGGER audit_supportaccess_append_only
    BEFORE UPDATE OR DELETE ON audit_supportaccess
    FOR EACH ROW EXECUTE FUNCTION public.audit_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_supportaccess_append_only"),
        ("auditlog", "0017_add_actor_email"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunSQL(CUSTOMER_ENTRIES_BLANK_SQL, reverse_sql=migrations.RunSQL.noop),
        migrations.RunSQL(FUNCTIONS_SQL, reverse_sql=migrations.RunSQL.noop),
        migrations.RunSQL(TRIGGERS_SQL, reverse_sql=REVERSE_TRIGGERS_SQL),
    ]
