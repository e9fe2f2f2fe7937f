from django.apps import AppConfig


class DirectoryIndexConfig(AppConfig):
    """Public schema only (SHARED_APPS): the index rows and the refresh outbox. The
    tenant side is `apps.directory` (TENANT_APPS)."""

    name = "apps.directory.index"
    label = "directory_index"
    default_auto_field = "django.db.models.BigAutoField"
