"""The public directory in a browser: a manager lists the business, a customer finds a
person on `/find/` (with and without JavaScript) and lands on the booking page with
that person preselected; every page passes the axe scan."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import tenant_context
from playwright.sync_api import Browser, Page, expect

from apps.directory.models import ListingProfile
from tests.browser.accessibility import assert_accessible
from tests.browser.live import LIVE_DB
from tests.browser.staff import log_in, staff_member
from tests.directory.corpus import corpus_build
from tests.plugins.tenant_tables import business_tables_truncate

pytestmark = [pytest.mark.browser, LIVE_DB]

PASSWORD = "a-long-enough-password"


def _emptied(schema: str) -> None:
    business_tables_truncate(schema)
    with connection.cursor() as cursor:
        tables = ("directory_listingprofile", "directory_resourcelisting")
        cursor.execute("TRUNCATE " + ", ".join(f'"{schema}"."{table}"' for table in tables))


@pytest.fixture(autouse=True)
def _links_to_the_live_server(
    settings: Any, live_tenants: dict[str, Any], live_server: Any
) -> Iterator[None]:
    """The index's booking links carry the business's address, here the live server's;
    acme's committed catalogue and listing are emptied before and after."""
    settings.TENANT_URL_PORT = str(live_server.thread.port)
    schema = live_tenants["tenants"]["acme"].schema_name
    _emptied(schema)
    yield
    _emptied(schema)


def test_manager_lists_the_business_and_a_customer_finds_and_books(
    page: Page, live_tenants: dict[str, Any]
) -> None:
    acme = live_tenants["tenants"]["acme"]
    with tenant_context(acme):
        corpus = corpus_build(acme, listed=False)
        email = staff_member(acme, "manager", PASSWORD)

    # the manager opts in on the dashboard
    log_in(page, live_tenants["acme"], email, PASSWORD)
    page.goto(live_tenants["acme"] + "/dashboard/listing/")
    expect(page.get_by_role("heading", name="Directory listing")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Coordinates (latitude, longitude)").fill("200, 0")
    page.get_by_role("button", name="Save listing").click()
    expect(page.get_by_text("The latitude must be between -90 and 90.")).to_be_visible()
    page.get_by_label("Show in the public directory").check()
    page.get_by_label("Coordinates (latitude, longitude)").fill("51.5074, -0.1278")
    page.get_by_role("button", name="Save listing").click()
    expect(page.get_by_text("Listing saved.")).to_be_visible()
    with tenant_context(acme):
        assert ListingProfile.objects.get().is_listed

    # a customer searches the root domain with a spelling variant
    page.goto(live_tenants["root"] + "/find/")
    assert_accessible(page)
    page.get_by_label("What are you looking for?").fill("fysio")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name="1 provider found")).to_be_visible()
    assert "q=fysio" in page.url  # htmx keeps the address bar in step
    assert_accessible(page)
    # a bad search names its field beside the results, the page still accessible
    page.get_by_label("Lowest rating (0 to 5)").fill("9")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("Give a rating from 0 to 5.").first).to_be_visible()
    # the form came back with the field marked, what was typed kept
    expect(page.get_by_label("Lowest rating (0 to 5)")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Lowest rating (0 to 5)")).to_have_value("9")
    expect(page.locator("#search-status")).to_have_text("The search needs correcting.")
    assert_accessible(page)
    page.get_by_label("Lowest rating (0 to 5)").fill("")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name="1 provider found")).to_be_visible()
    page.get_by_role("link", name="Anna Berg", exact=True).click()
    page.wait_for_url(f"**/{corpus.people['Anna Berg'].pk}/")
    assert page.url.startswith(live_tenants["acme"] + "/book/")


def test_find_works_without_javascript(browser: Browser, live_tenants: dict[str, Any]) -> None:
    acme = live_tenants["tenants"]["acme"]
    with tenant_context(acme):
        corpus_build(acme)
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(live_tenants["root"] + "/find/")
        page.get_by_label("Language").select_option("de")
        page.get_by_label("Near (latitude, longitude)").fill("51.75,-1.25")
        page.get_by_label("Within (km)").fill("10")
        page.get_by_role("button", name="Search").click()
        expect(page.get_by_role("heading", name="1 provider found")).to_be_visible()
        expect(page.get_by_role("link", name="José Müller", exact=True)).to_be_visible()
        page.get_by_label("Within (km)").fill("")
        page.get_by_role("button", name="Search").click()
        expect(page.get_by_text("Give a radius with a place.").first).to_be_visible()
        expect(page.get_by_label("Near (latitude, longitude)")).to_have_value("51.75,-1.25")
        # (no axe scan here: it runs as JavaScript, which this context has turned off)
    finally:
        context.close()
