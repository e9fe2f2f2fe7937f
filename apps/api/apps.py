from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "apps.api"
    label = "api"
    verbose_name = "Integrator API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the security schemes; connects signal receivers.
        from apps.api import openapi, receivers  # noqa: F401
        from apps.api.audit import audit_register

        audit_register()
