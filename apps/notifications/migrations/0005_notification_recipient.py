"""A message planned before its customer's data was erased keeps its recipient on the row
(encrypted) until it goes out, and no longer: the database empties the column as the
row becomes sent, failed or cancelled, whichever code path moves it there.

The trigger function lives in `public` (created or replaced by every schema's run of
this migration), so a tenant schema cloned from the template keeps a trigger that
resolves, as the audit guard does (apps/audit/migrations/0003).
"""

from django.db import migrations, models

FORGET_SQL = """
CREATE OR REPLACE FUNCTION public.notification_recipient_forget() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.recipient_encrypted := '';
    RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS notification_recipient_forget ON notifications_notification;
CREATE TRIGGER notification_recipient_forget
    BEFORE INSERT OR UPDATE ON notifications_notification
    FOR EACH ROW
    WHEN (NEW.recipient_encrypted <> '' AND NEW.status IN ('sent', 'failed', 'cancelled'))
    EXECUTE FUNCTION public.notification_recipient_forget();
"""

KEEP_SQL = "DROP TRIGGER IF EXISTS notification_recipient_forget ON notifications_notification;"


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0004_refunded_kind"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="recipient_encrypted",
            field=models.TextField(blank=True),
        ),
        migrations.RunSQL(FORGET_SQL, KEEP_SQL),
    ]
