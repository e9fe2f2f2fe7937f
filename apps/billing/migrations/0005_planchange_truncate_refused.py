"""The plan history refuses TRUNCATE too, and is guarded by the audit trails' one
function (apps/audit/migrations/0003), so the seven-year purge can reach it like the
others."""

from django.db import migrations

TRIGGERS_SQL = """
DROP TRIGGER IF EXISTS billing_planchange_append_only ON billing_planchange;
CREATE TRIGGER billing_planchange_append_only
    BEFORE UPDATE OR DELETE ON billing_planchange
    FOR EACH ROW EXECUTE FUNCTION public.audit_trail_guard('created_at');
DROP TRIGGER IF EXISTS billing_planchange_no_truncate ON billing_planchange;
CREATE TRIGGER billing_planchange_no_truncate
    BEFORE TRUNCATE ON billing_planchange
    FOR EACH STATEMENT EXECUTE FUNCTION public.audit_trail_guard();
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS billing_planchange_no_truncate ON billing_planchange;
DROP TRIGGER IF EXISTS billing_planchange_append_only ON billing_planchange;
CREATE TRIGGER billing_planchange_append_only
    BEFORE UPDATE OR DELETE ON billing_planchange
    FOR EACH ROW EXECUTE FUNCTION public.audit_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0004_stripe_account"),
        ("audit", "0003_audit_trails_append_only"),
    ]

    operations = [migrations.RunSQL(TRIGGERS_SQL, reverse_sql=REVERSE_SQL)]
