"""Signing staff in through the real login pages, second factor included."""

from __future__ import annotations

import base64
import re

from django_otp.oath import totp
from playwright.sync_api import Page

from apps.accounts.models import AuthenticatorDevice, Membership, Tenant, User


def code_for_key(key: bytes) -> str:
    """The authenticator app's current 6-digit code for this key."""
    return f"{totp(key):06d}"


def staff_member(tenant: Tenant, role: str, password: str) -> str:
    """A new member of `tenant` with this role; an admin gets an authenticator, since the
    dashboard asks admins for one. Returns the email to log in with."""
    email = f"{role}-{tenant.slug}@staff.test"
    user = User.objects.create_user(email=email, password=password)
    Membership.objects.create(user=user, tenant=tenant, role=role)
    if role == Membership.Role.ADMIN:
        AuthenticatorDevice.objects.create(user=user, name="phone", confirmed=True)
    return email


def log_in(page: Page, base: str, email: str, password: str) -> None:
    """Password, then (for anyone with an authenticator) the code page, then the dashboard."""
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/(dashboard|accounts/mfa/verify)/"))
    if "/accounts/mfa/verify/" in page.url:
        device = AuthenticatorDevice.objects.get(user__email=email, confirmed=True)
        page.get_by_label("Code").fill(code_for_key(device.bin_key))
        page.get_by_role("button", name="Continue").click()
    page.wait_for_url(base + "/dashboard/")


def enrol_from_setup_page(page: Page) -> None:
    """On the set-up page: read the key shown, type the app's code for it, turn it on."""
    secret = "".join(page.locator("code.secret").inner_text().split())
    page.get_by_label("Code from the app").fill(code_for_key(base64.b32decode(secret)))
    page.get_by_role("button", name="Turn on two-step sign-in").click()
