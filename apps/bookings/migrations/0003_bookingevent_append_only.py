"""BookingEvent is append-only: the database refuses UPDATE and DELETE on its rows.

The trigger function lives in `public` (schema-qualified, created idempotently by every
tenant schema's run of this migration), so each tenant's trigger resolves it whatever
the search_path, and schema clones (new tenants are cloned from the template schema)
keep pointing at it. Dropping a tenant schema drops its trigger, never the function.
"""

from django.db import migrations

FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION public.bookings_bookingevent_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'booking history is append-only: % on %.% refused',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;
"""

TRIGGER_SQL = """
DROP TRIGGER IF EXISTS bookings_bookingevent_append_only ON bookings_bookingevent;
CREATE TRIGGER bookings_bookingevent_append_only
    BEFORE UPDATE OR DELETE ON bookings_bookingevent
    FOR EACH ROW EXECUTE FUNCTION public.bookings_bookingevent_append_only();
"""

REVERSE_SQL = "DROP TRIGGER IF EXISTS bookings_bookingevent_append_only ON bookings_bookingevent;"


class Migration(migrations.Migration):
    dependencies = [("bookings", "0002_customer_unique_email_idempotency")]

    operations = [
        migrations.RunSQL(FUNCTION_SQL + TRIGGER_SQL, reverse_sql=REVERSE_SQL),
    ]
