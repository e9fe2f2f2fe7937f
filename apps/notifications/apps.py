from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "apps.notifications"
    label = "notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.bookings.pii import encrypted_columns_register
        from apps.core.entitlements import Limit, usage_counter_register
        from apps.notifications import personal_data
        from apps.notifications.audit import audit_register
        from apps.notifications.messages import receivers as message_receivers

        # Celery's autodiscovery looks for apps.notifications.tasks only: the task modules
        # of the package's parts are imported here, so the worker registers every task.
        from apps.notifications.messages import tasks as message_tasks  # noqa: F401
        from apps.notifications.selectors import text_messages_this_month
        from apps.notifications.webhooks import receivers as webhook_receivers
        from apps.notifications.webhooks import tasks as webhook_tasks  # noqa: F401

        message_receivers.connect()
        webhook_receivers.connect()
        # GDPR requests: this app's export sections and its part of erasing a customer.
        personal_data.connect()
        usage_counter_register(Limit.SMS_PER_MONTH, text_messages_this_month)
        audit_register()
        # What `manage.py rotate_encryption_keys` re-encrypts.
        encrypted_columns_register(
            "notifications.WebhookEndpoint",
            fields=("secret_encrypted", "previous_secret_encrypted"),
        )
        encrypted_columns_register("notifications.WebhookEvent", fields=("body_encrypted",))
        encrypted_columns_register("notifications.Notification", fields=("recipient_encrypted",))
