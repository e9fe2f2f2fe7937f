"""The tables that make periodic work due tell the public `accounts_tenantworkdue` when
(apps/accounts/due_work.py): a hold that will lapse, a message or a webhook delivery to
send or whose sending lease will run out. Beat then sends the sweeper, the message
dispatcher and the webhook dispatcher only into businesses with something due.

The triggers run in the writer's transaction, so the due time and the row that makes it
due commit together. `tenant_work_due_note` moves a due time earlier only: a conditional
UPDATE moves it when it is earlier (writers that wait for that row lock re-check the
committed time, so concurrent writers wait for at most the one that moved it); when the
time already noted is no later it takes a KEY SHARE lock and returns; without a row it
inserts one. The KEY SHARE lock waits for the work's own FOR UPDATE
(apps/accounts/due_work.py), so a due time noted while the work finishes is never
overwritten by the work's next-due time.

The functions live in `public` (created or replaced by every schema's run of this
migration, as the audit guard's: apps/audit/migrations/0003), so a schema cloned from
the template keeps triggers that resolve. Each schema's run also notes the work that is
already due in it.
"""

from django.db import migrations

FUNCTIONS_SQL = """
CREATE OR REPLACE FUNCTION public.tenant_work_due_note(schema text, work text, due timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF due IS NULL THEN
        RETURN;
    END IF;
    LOOP
        -- Earlier than what is noted (or nothing is): move it. Writers that wait for
        -- this row lock re-check the committed time and move it only if still earlier.
        UPDATE public.accounts_tenantworkdue SET due_at = due
        WHERE schema_name = schema AND kind = work AND (due_at IS NULL OR due_at > due);
        IF FOUND THEN
            RETURN;
        END IF;
        -- No later than this: hold a KEY SHARE lock to commit, so that the work's
        -- reschedule (FOR UPDATE) waits for this row to commit and then reads it.
        PERFORM 1 FROM public.accounts_tenantworkdue
        WHERE schema_name = schema AND kind = work AND due_at <= due
        FOR KEY SHARE;
        IF FOUND THEN
            RETURN;
        END IF;
        -- No row yet (or a reschedule cleared it meanwhile: then try again).
        INSERT INTO public.accounts_tenantworkdue (schema_name, kind, due_at)
        VALUES (schema, work, due)
        ON CONFLICT (schema_name, kind) DO NOTHING;
        IF FOUND THEN
            RETURN;
        END IF;
    END LOOP;
END;
$$;

CREATE OR REPLACE FUNCTION public.bookings_hold_work_due() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.tenant_work_due_note(TG_TABLE_SCHEMA::text, 'holds', NEW.hold_expires_at);
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION public.outbox_work_due() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.tenant_work_due_note(
        TG_TABLE_SCHEMA::text,
        TG_ARGV[0],
        CASE NEW.status WHEN 'sending' THEN NEW.lease_expires_at ELSE NEW.next_attempt_at END
    );
    RETURN NULL;
END;
$$;
"""

TRIGGERS_SQL = """
DROP TRIGGER IF EXISTS bookings_hold_work_due ON bookings_booking;
CREATE TRIGGER bookings_hold_work_due
    AFTER INSERT OR UPDATE OF status, hold_expires_at ON bookings_booking
    FOR EACH ROW WHEN (NEW.status = 'held')
    EXECUTE FUNCTION public.bookings_hold_work_due();

DROP TRIGGER IF EXISTS notifications_message_work_due ON notifications_notification;
CREATE TRIGGER notifications_message_work_due
    AFTER INSERT OR UPDATE OF status, next_attempt_at, lease_expires_at
    ON notifications_notification
    FOR EACH ROW WHEN (NEW.status IN ('pending', 'sending'))
    EXECUTE FUNCTION public.outbox_work_due('messages');

DROP TRIGGER IF EXISTS notifications_webhook_work_due ON notifications_webhookdelivery;
CREATE TRIGGER notifications_webhook_work_due
    AFTER INSERT OR UPDATE OF status, next_attempt_at, lease_expires_at
    ON notifications_webhookdelivery
    FOR EACH ROW WHEN (NEW.status IN ('pending', 'sending'))
    EXECUTE FUNCTION public.outbox_work_due('webhooks');
"""

# What is due already when this runs in a schema.
NOTE_DUE_SQL = """
SELECT public.tenant_work_due_note(current_schema()::text, 'holds', min(hold_expires_at))
FROM bookings_booking WHERE status = 'held';
SELECT public.tenant_work_due_note(
    current_schema()::text, 'messages',
    min(CASE status WHEN 'sending' THEN lease_expires_at ELSE next_attempt_at END))
FROM notifications_notification WHERE status IN ('pending', 'sending');
SELECT public.tenant_work_due_note(
    current_schema()::text, 'webhooks',
    min(CASE status WHEN 'sending' THEN lease_expires_at ELSE next_attempt_at END))
FROM notifications_webhookdelivery WHERE status IN ('pending', 'sending');
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS bookings_hold_work_due ON bookings_booking;
DROP TRIGGER IF EXISTS notifications_message_work_due ON notifications_notification;
DROP TRIGGER IF EXISTS notifications_webhook_work_due ON notifications_webhookdelivery;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0006_payment_link_kind"),
        ("bookings", "0009_customer_erased_at"),
        # The public table the triggers write (public schemas migrate first anyway).
        ("accounts", "0012_tenant_work_due"),
    ]

    operations = [
        migrations.RunSQL(FUNCTIONS_SQL + TRIGGERS_SQL, reverse_sql=REVERSE_SQL),
        migrations.RunSQL(NOTE_DUE_SQL, reverse_sql=migrations.RunSQL.noop),
    ]
