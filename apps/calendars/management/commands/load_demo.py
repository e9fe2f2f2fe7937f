import base64
import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import tenant_context

from apps.accounts.models import Tenant, User
from apps.accounts.services import tenant_create
from apps.calendars.demo_schedule import demo_schedule_load


def _demo_second_factors(user: User, spec: dict[str, Any]) -> str:
    """A demo person's authenticator (a fixed, published key: demo only) and
    backup codes, topped up on every run since each code works once. Returns the key in
    the base32 form authenticator apps take."""
    device, _ = TOTPDevice.objects.update_or_create(
        user=user,
        name="Demo authenticator",
        defaults={"key": spec["totp_key"], "confirmed": True},
    )
    backup, _ = StaticDevice.objects.get_or_create(
        user=user, name="Demo backup codes", defaults={"confirmed": True}
    )
    for code in spec.get("backup_codes", []):
        StaticToken.objects.get_or_create(device=backup, token=code)
    return base64.b32encode(device.bin_key).decode()


class Command(BaseCommand):
    help = "Load the demo tenant described in fixtures/demo.json (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", default=str(settings.BASE_DIR / "fixtures" / "demo.json"))

    def handle(self, *args: object, **options: Any) -> None:
        data = json.loads(Path(options["file"]).read_text())
        with transaction.atomic():
            staff = data["platform_admin"]
            support = User.objects.filter(email=staff["email"]).first()
            if support is None:
                support = User.objects.create_superuser(
                    email=staff["email"], password=staff["password"]
                )
            totp_key = _demo_second_factors(support, staff)
            spec, owner_spec = data["tenant"], data["owner"]
            owner = User.objects.filter(email=owner_spec["email"]).first()
            if owner is None:
                owner = User.objects.create_user(
                    email=owner_spec["email"],
                    password=owner_spec["password"],
                    full_name=owner_spec.get("full_name", ""),
                )
            tenant = Tenant.objects.filter(slug=spec["slug"]).first()
            if tenant is None:
                tenant = tenant_create(
                    slug=spec["slug"], name=spec["name"], owner=owner, timezone=spec["timezone"]
                )
                # The showcase stays open: it is on the top plan, as a paying business.
                tenant.plan, tenant.status, tenant.trial_ends_at = "pro", Tenant.Status.ACTIVE, None
                tenant.save(update_fields=["plan", "status", "trial_ends_at", "updated_at"])
                self.stdout.write(f"Created demo tenant {tenant.slug}.")
            owner_key = _demo_second_factors(owner, owner_spec)
        if "schedule" in data:
            with tenant_context(tenant):
                loaded = demo_schedule_load(spec=data["schedule"])
            added = ", ".join(f"{name} +{count}" for name, count in loaded.created.items())
            slots = loaded.slots
            self.stdout.write(
                f"Demo schedule: {added}; slots created {slots.created}, "
                f"kept {slots.kept}, removed {slots.removed}."
            )
        self.stdout.write(
            f"Demo owner: {owner_spec['email']} / {owner_spec['password']}   "
            f"Platform admin: {staff['email']} / {staff['password']}"
        )
        self.stdout.write(
            f"Owner second factor (dashboard): authenticator key {owner_key} "
            f"or a backup code: {', '.join(owner_spec.get('backup_codes', []))}"
        )
        self.stdout.write(
            f"Platform admin second factor: authenticator key {totp_key} "
            f"or a backup code: {', '.join(staff.get('backup_codes', []))}"
        )
