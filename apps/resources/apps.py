from django.apps import AppConfig


class ResourcesConfig(AppConfig):
    name = "apps.resources"
    label = "resources"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.core.entitlements import Limit, usage_counter_register
        from apps.resources.selectors import resources_active_count

        usage_counter_register(Limit.RESOURCES, resources_active_count)
