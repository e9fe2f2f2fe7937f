from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "apps.bookings"
    label = "bookings"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.bookings.audit import audit_register
        from apps.bookings.selectors import bookings_this_month
        from apps.core.entitlements import Limit, usage_counter_register

        audit_register()
        usage_counter_register(Limit.BOOKINGS_PER_MONTH, bookings_this_month)
