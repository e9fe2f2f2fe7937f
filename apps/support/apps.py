from django.apps import AppConfig


class SupportConfig(AppConfig):
    """The platform admin's support console (root domain): the tenant overview and a
    business's page, the cross-tenant look-up, suspending and reactivating a business,
    and the platform's audit viewers. Pages only: the reads and writes it calls belong
    to the domain apps below it."""

    name = "apps.support"
    label = "support"
    verbose_name = "Support console"
