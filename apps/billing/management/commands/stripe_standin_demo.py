"""`make run` without Stripe keys: connect the demo business to the local Stripe
stand-in, so its paid services take payment online on this machine. The stand-in keeps
its objects in memory, so this runs each time it starts (config/local/Procfile)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.accounts.models import Tenant
from apps.billing.connect import account_connect_start, account_refresh
from apps.billing.models import StripeAccount
from apps.billing.standin import StandinClient
from apps.billing.stripe_api import PaymentRefused, PaymentsUnavailable


class Command(BaseCommand):
    help = "Connects the demo business to the local Stripe stand-in (development only)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--tenant", default="demo")
        parser.add_argument("--wait", type=float, default=10.0, help="seconds to wait for it")

    def handle(self, *args: Any, **options: Any) -> None:
        host = urlparse(settings.STRIPE_API_BASE).hostname
        if host not in {"127.0.0.1", "localhost"}:
            raise CommandError("STRIPE_API_BASE is not a local stand-in; nothing done.")
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No business {options['tenant']!r}.")
        standin = StandinClient(settings.STRIPE_API_BASE)
        deadline = time.monotonic() + options["wait"]
        while True:
            try:
                standin.info()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise CommandError("The Stripe stand-in did not answer.") from None
                time.sleep(0.3)
        # A stand-in that restarted forgot the account: open a new one.
        try:
            account_refresh(tenant)
        except (PaymentRefused, PaymentsUnavailable):
            StripeAccount.objects.filter(tenant=tenant).delete()
        account_connect_start(
            tenant=tenant,
            email=tenant.email or "demo@timenest.test",
            return_url="http://localhost/",
            refresh_url="http://localhost/",
        )
        account = StripeAccount.objects.get(tenant=tenant)
        standin.account_onboard(account.account_id)
        account_refresh(tenant)
        self.stdout.write(
            f"Demo business {tenant.slug} takes payments on the Stripe stand-in "
            f"(account {account.account_id})."
        )
