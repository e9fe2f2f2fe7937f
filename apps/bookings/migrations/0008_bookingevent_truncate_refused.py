"""Booking history refuses TRUNCATE too, and is guarded by the audit trails' one function
(apps/audit/migrations/0003), so the seven-year purge can reach it like the others.

The row trigger moves from `public.bookings_bookingevent_append_only()` (left in place:
dropping it is a later step, once no schema's trigger uses it) to
`public.audit_trail_guard('created_at')`.
"""

from django.db import migrations

TRIGGERS_SQL = """
DROP TRIGGER IF EXISTS bookings_bookingevent_append_only ON bookings_bookingevent;
CREATE TRIGGER bookings_bookingevent_append_only
    BEFORE UPDATE OR DELETE ON bookings_bookingevent
    FOR EACH ROW EXECUTE FUNCTION public.audit_trail_guard('created_at');
DROP TRIGGER IF EXISTS bookings_bookingevent_no_truncate ON bookings_bookingevent;
CREATE TRIGGER bookings_bookingevent_no_truncate
    BEFORE TRUNCATE ON bookings_bookingevent
    FOR EACH STATEMENT EXECUTE FUNCTION public.audit_trail_guard();
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS bookings_bookingevent_no_truncate ON bookings_bookingevent;
DROP TRIGGER IF EXISTS bookings_bookingevent_append_only ON bookings_bookingevent;
CREATE TRIGGER bookings_bookingevent_append_only
    BEFORE UPDATE OR DELETE ON bookings_bookingevent
    FOR EACH ROW EXECUTE FUNCTION public.bookings_bookingevent_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0007_payment_refund_due"),
        ("audit", "0003_audit_trails_append_only"),
    ]

    operations = [migrations.RunSQL(TRIGGERS_SQL, reverse_sql=REVERSE_SQL)]
