from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "apps.bookings"
    label = "bookings"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.bookings.audit import audit_register
        from apps.bookings.pii import encrypted_columns_register
        from apps.bookings.selectors import bookings_this_month
        from apps.core.entitlements import Limit, usage_counter_register

        audit_register()
        usage_counter_register(Limit.BOOKINGS_PER_MONTH, bookings_this_month)
        # What `manage.py rotate_encryption_keys` re-encrypts (and rehashes).
        encrypted_columns_register(
            "bookings.Customer",
            fields=("email_encrypted", "phone_encrypted"),
            lookup_hashes={"email_hash": "email_encrypted", "phone_hash": "phone_encrypted"},
        )
        encrypted_columns_register(
            "bookings.Booking",
            fields=("contact_email_encrypted", "contact_phone_encrypted", "answers_encrypted"),
        )
        encrypted_columns_register("bookings.IdempotencyRecord", fields=("response_body",))
