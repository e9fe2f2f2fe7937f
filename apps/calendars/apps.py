from django.apps import AppConfig


class CalendarsConfig(AppConfig):
    name = "apps.calendars"
    label = "calendars"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.calendars import receivers  # noqa: F401  (connects signal receivers)
