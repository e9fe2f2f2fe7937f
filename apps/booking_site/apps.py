from django.apps import AppConfig


class BookingSiteConfig(AppConfig):
    name = "apps.booking_site"
    default_auto_field = "django.db.models.BigAutoField"
