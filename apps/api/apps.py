from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "apps.api"
    label = "api"
    verbose_name = "Integrator API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.api import openapi  # noqa: F401  (registers the security schemes)
