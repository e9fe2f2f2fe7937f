from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    """Tenant schema (TENANT_APPS): a business's listing profile and its people's. The
    public index is `apps.directory.index` (SHARED_APPS)."""

    name = "apps.directory"
    label = "directory"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.directory import receivers
        from apps.directory.audit import audit_register

        receivers.connect()
        audit_register()
