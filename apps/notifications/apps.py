from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "apps.notifications"
    label = "notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.notifications import receivers
        from apps.notifications.webhooks import receivers as webhook_receivers
        from apps.notifications.webhooks import tasks as webhook_tasks  # noqa: F401 - registers

        receivers.connect()
        webhook_receivers.connect()
