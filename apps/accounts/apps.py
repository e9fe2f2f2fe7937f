from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts and tenants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib import admin

        from apps.accounts import receivers, signin  # noqa: F401  (connect signal receivers)
        from apps.accounts.admin_sites import PlatformAdminSite
        from apps.accounts.audit import audit_register
        from apps.accounts.selectors import seats_used
        from apps.core.encryption import encrypted_columns_register
        from apps.core.entitlements import Limit, usage_counter_register

        usage_counter_register(Limit.SEATS, seats_used)
        encrypted_columns_register("accounts.AuthenticatorDevice", fields=("key_encrypted",))
        audit_register()

        # Models register on `admin.site` everywhere; the root domain's site must ask
        # for MFA and audit its use like the tenant sites do.
        admin.site.__class__ = PlatformAdminSite
