from django.apps import AppConfig


class WaitlistConfig(AppConfig):
    name = "apps.waitlist"
    label = "waitlist"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.bookings.pii import encrypted_columns_register
        from apps.waitlist import personal_data, receivers
        from apps.waitlist.audit import audit_register

        audit_register()
        receivers.connect()
        personal_data.connect()
        # What `manage.py rotate_encryption_keys` re-encrypts (and rehashes).
        encrypted_columns_register(
            "waitlist.WaitlistEntry",
            fields=("email_encrypted", "phone_encrypted", "answers_encrypted"),
            lookup_hashes={"email_hash": "email_encrypted"},
        )
