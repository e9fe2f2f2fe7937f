from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from apps.accounts.models import Membership, Tenant, User
from tests.browser.accessibility import assert_accessible
from tests.browser.live import LIVE_DB
from tests.browser.staff import enrol_from_setup_page

pytestmark = [pytest.mark.browser, LIVE_DB]


def test_root_pages_have_no_serious_accessibility_violations(page: Page, live_tenants):
    for path in ("/", "/signup/", "/accounts/login/"):
        page.goto(live_tenants["root"] + path)
        assert_accessible(page)


def test_tenant_home_and_dashboard_have_no_serious_violations(
    page: Page, live_tenants, screenshot_dir: Path
):
    acme = Tenant.objects.get(slug="acme")
    user = User.objects.create_user(email="a11y-admin@acme.test", password="a-long-password-1")
    Membership.objects.create(user=user, tenant=acme, role="admin")
    base = live_tenants["acme"]

    page.goto(base + "/")
    assert_accessible(page)

    page.goto(base + "/accounts/login/")
    assert_accessible(page)
    page.get_by_label("Email").fill("a11y-admin@acme.test")
    page.get_by_label("Password").fill("a-long-password-1")
    page.get_by_role("button", name="Log in").click()

    # an admin with no second factor sets one up before the dashboard opens
    page.wait_for_url(base + "/accounts/mfa/?next=%2Fdashboard%2F")
    assert_accessible(page)
    page.screenshot(path=str(screenshot_dir / "mfa-setup.png"), full_page=True)
    enrol_from_setup_page(page)
    expect(page.get_by_role("heading", name="Backup codes")).to_be_visible()
    assert_accessible(page)
    page.screenshot(path=str(screenshot_dir / "mfa-backup-codes.png"), full_page=True)
    page.get_by_role("link", name="I have saved my codes: continue").click()
    page.wait_for_url(base + "/dashboard/")
    for path in ("/dashboard/", "/dashboard/team/", "/dashboard/settings/"):
        page.goto(base + path)
        assert_accessible(page)


def test_the_scan_catches_an_unlabelled_input(page: Page):
    page.set_content("<html lang='en'><title>t</title><main><input type='text'></main></html>")

    with pytest.raises(AssertionError, match="label"):
        assert_accessible(page)
