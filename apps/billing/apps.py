from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "apps.billing"
    label = "billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import stripe
        from django.conf import settings

        # Stripe itself in production; the local stand-in in development and tests.
        stripe.api_base = settings.STRIPE_API_BASE

        from apps.billing import receivers
        from apps.billing.audit import audit_register
        from apps.billing.entitlements import TenantPlanProvider
        from apps.core.entitlements import plan_provider_register

        plan_provider_register(TenantPlanProvider())
        receivers.connect()
        audit_register()
