"""A refund decided and not made notes the refund sweep due in the public
`accounts_tenantworkdue` (apps/accounts/due_work.py) when its grace runs out
(`REFUND_DUE_GRACE`, 5 minutes: apps/bookings/payments.py), so beat sends the sweep only
into businesses with a refund due, never into every one every few minutes.

As the other due-work triggers (0007 here): the function lives
in `public` (created or replaced by every schema's run), the note is made in the
writer's transaction and only ever moves a due time earlier. Each schema's run also
notes the refunds already due in it and when its idempotency records are next purged."""

from django.db import migrations

FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION public.bookings_refund_work_due() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.tenant_work_due_note(
        TG_TABLE_SCHEMA::text, 'refunds', NEW.created_at + interval '5 minutes'
    );
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS bookings_refund_work_due ON bookings_payment;
CREATE TRIGGER bookings_refund_work_due
    AFTER INSERT OR UPDATE OF status ON bookings_payment
    FOR EACH ROW WHEN (NEW.kind = 'refund' AND NEW.status = 'due')
    EXECUTE FUNCTION public.bookings_refund_work_due();
"""

NOTE_DUE_SQL = """
SELECT public.tenant_work_due_note(
    current_schema()::text, 'refunds', min(created_at) + interval '5 minutes')
FROM bookings_payment WHERE kind = 'refund' AND status = 'due';
SELECT public.tenant_work_due_note(
    current_schema()::text, 'idempotency', min(created_at) + interval '24 hours')
FROM bookings_idempotencyrecord;
"""

REVERSE_SQL = "DROP TRIGGER IF EXISTS bookings_refund_work_due ON bookings_payment;"


class Migration(migrations.Migration):
    # Here with the other due-work triggers (0007, on bookings' tables too), not in
    # bookings: a bookings migration depending on 0007 made every rollback of this app
    # unapply it as well, and the executor then rendered the state again for minutes.
    dependencies = [
        ("notifications", "0009_waitlist_offer_kind"),
        ("bookings", "0009_customer_erased_at"),
    ]

    operations = [
        migrations.RunSQL(FUNCTION_SQL, reverse_sql=REVERSE_SQL),
        migrations.RunSQL(NOTE_DUE_SQL, reverse_sql=migrations.RunSQL.noop),
    ]
