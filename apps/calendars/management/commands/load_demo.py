"""`manage.py load_demo`: the demo business of fixtures/demo.json, for a development
machine only (refused unless DEBUG is on and the settings are not production's).

The demo people's passwords, authenticator keys and backup codes are published nowhere:
they are drawn on each machine the first time, kept in `.local/demo-credentials.json`
(readable by its owner only) and reused on every later run; `--credentials` prints them.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_tenants.utils import tenant_context

from apps.accounts.mfa import backup_code_digests, backup_code_new
from apps.accounts.models import AuthenticatorDevice, Tenant, User
from apps.accounts.services import tenant_create
from apps.calendars.demo_schedule import demo_schedule_load
from apps.core.encryption import pii_encrypt

CREDENTIALS_FILE = "demo-credentials.json"
PRODUCTION_SETTINGS = ("config.settings.prod", "config.settings.bench")
BACKUP_CODES = 5
# Who signs in to the demo: the fixture's key of each person.
PEOPLE = ("platform_admin", "owner")


def demo_credentials_path() -> Path:
    return Path(settings.LOCAL_DIR) / CREDENTIALS_FILE


def _drawn(email: str) -> dict[str, Any]:
    return {
        "email": email,
        "password": secrets.token_urlsafe(12),
        "totp_key": secrets.token_hex(20),  # django-otp's form: 20 bytes in hex
        "backup_codes": [backup_code_new() for _ in range(BACKUP_CODES)],
    }


def demo_credentials_ensure(path: Path, emails: dict[str, str]) -> tuple[dict[str, Any], bool]:
    """This machine's demo credentials, and whether they were drawn just now. The file is
    made with mode 0600 from the start (never readable by others, not even briefly)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _kept(path, emails), False
    credentials = {person: _drawn(email) for person, email in emails.items()}
    with os.fdopen(descriptor, "w") as file:
        json.dump(credentials, file, indent=2)
    return credentials, True


def _kept(path: Path, emails: dict[str, str]) -> dict[str, Any]:
    path.chmod(0o600)  # a copy made by hand: owner only
    credentials = json.loads(path.read_text())
    if not isinstance(credentials, dict) or not all(person in credentials for person in emails):
        raise CommandError(f"{path} is not the demo's credentials: delete it to draw new ones.")
    return credentials


def _second_factors(user: User, spec: dict[str, Any], *, replace: bool) -> str:
    """The person's authenticator (this machine's key) and backup codes: topped up on
    every run since each code works once, replaced when the credentials are new. Returns
    the key in the base32 form authenticator apps take."""
    device, _ = AuthenticatorDevice.objects.update_or_create(
        user=user,
        name="Demo authenticator",
        defaults={"key_encrypted": pii_encrypt(spec["totp_key"]), "confirmed": True},
    )
    backup, _ = StaticDevice.objects.get_or_create(
        user=user, name="Demo backup codes", defaults={"confirmed": True}
    )
    if replace:
        backup.token_set.all().delete()
    for code in spec["backup_codes"]:  # kept as digests, like everyone's (accounts.mfa)
        StaticToken.objects.get_or_create(device=backup, token=backup_code_digests(code)[0])
    return base64.b32encode(device.bin_key).decode()


def _person(spec: dict[str, Any], *, superuser: bool, full_name: str, reset: bool) -> User:
    user = User.objects.filter(email=spec["email"]).first()
    if user is None:
        if superuser:
            return User.objects.create_superuser(email=spec["email"], password=spec["password"])
        return User.objects.create_user(
            email=spec["email"], password=spec["password"], full_name=full_name
        )
    if reset:  # the credentials were drawn just now: the old ones stop working
        user.set_password(spec["password"])
        user.save(update_fields=["password"])
    return user


class Command(BaseCommand):
    help = (
        "Load the demo tenant described in fixtures/demo.json (idempotent; development "
        "only). Its people's credentials are drawn per machine into "
        f".local/{CREDENTIALS_FILE}."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", default=str(settings.BASE_DIR / "fixtures" / "demo.json"))
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="leave a loaded demo as it is (a new business signed up since stays too)",
        )
        parser.add_argument(
            "--credentials", action="store_true", help="only print this machine's credentials"
        )

    def handle(self, *args: object, **options: Any) -> None:
        if not settings.DEBUG or settings.SETTINGS_MODULE in PRODUCTION_SETTINGS:
            raise CommandError(
                "load_demo is for development machines only (DEBUG on, settings not "
                f"production's); these settings are {settings.SETTINGS_MODULE} with "
                f"DEBUG={settings.DEBUG}."
            )
        path = demo_credentials_path()
        if options["credentials"]:
            if not path.exists():
                self.stdout.write("No demo credentials on this machine yet: run `make run`.")
                return
            self._print(json.loads(path.read_text()), path)
            return
        data = json.loads(Path(options["file"]).read_text())
        emails = {person: data[person]["email"] for person in PEOPLE}
        credentials, drawn = demo_credentials_ensure(path, emails)
        spec, owner_name = data["tenant"], data["owner"].get("full_name", "")
        tenant = Tenant.objects.filter(slug=spec["slug"]).first()
        loaded = tenant is not None and User.objects.filter(email__in=emails.values()).count() == 2
        with transaction.atomic():
            support = _person(
                credentials["platform_admin"], superuser=True, full_name="", reset=drawn
            )
            _second_factors(support, credentials["platform_admin"], replace=drawn)
            owner = _person(
                credentials["owner"], superuser=False, full_name=owner_name, reset=drawn
            )
            _second_factors(owner, credentials["owner"], replace=drawn)
            if options["if_missing"] and loaded:
                self.stdout.write("The demo business is loaded already; left as it is.")
                self._print(credentials, path)
                return
            if tenant is None:
                tenant = tenant_create(
                    slug=spec["slug"], name=spec["name"], owner=owner, timezone=spec["timezone"]
                )
                # The showcase stays open: it is on the top plan, as a paying business.
                tenant.plan, tenant.status, tenant.trial_ends_at = "pro", Tenant.Status.ACTIVE, None
                tenant.save(update_fields=["plan", "status", "trial_ends_at", "updated_at"])
                self.stdout.write(f"Created demo tenant {tenant.slug}.")
        if "schedule" in data:
            with tenant_context(tenant):
                result = demo_schedule_load(spec=data["schedule"])
            added = ", ".join(f"{name} +{count}" for name, count in result.created.items())
            slots = result.slots
            self.stdout.write(
                f"Demo schedule: {added}; slots created {slots.created}, "
                f"kept {slots.kept}, removed {slots.removed}."
            )
        self._print(credentials, path)

    def _print(self, credentials: dict[str, Any], path: Path) -> None:
        owner, admin = credentials["owner"], credentials["platform_admin"]

        def key(spec: dict[str, Any]) -> str:
            return base64.b32encode(bytes.fromhex(spec["totp_key"])).decode()

        self.stdout.write(
            f"  Demo logins of this machine (kept in {path}):\n"
            f"    Demo owner:     {owner['email']} / {owner['password']}\n"
            f"      second factor: authenticator key {key(owner)} "
            f"or a backup code: {', '.join(owner['backup_codes'])}\n"
            f"    Platform admin: {admin['email']} / {admin['password']}\n"
            f"      second factor: authenticator key {key(admin)} "
            f"or a backup code: {', '.join(admin['backup_codes'])}"
        )
