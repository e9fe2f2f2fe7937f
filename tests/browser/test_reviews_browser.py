"""Reviews in a browser: a customer follows the link of a completed booking, corrects a
missing rating and publishes a review; a manager replies on the dashboard; the review
shows with "verified booking" on the business's reviews page and in `/find/`. Every page
passes the axe scan."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from apps.directory.index.models import DirectoryEntry
from apps.directory.indexing import directory_index_rebuild
from apps.reviews.links import review_token
from apps.reviews.models import Review
from tests.browser.accessibility import assert_accessible
from tests.browser.live import LIVE_DB
from tests.browser.staff import log_in, staff_member
from tests.plugins.tenant_tables import business_tables_truncate
from tests.reviews.conftest import completed_booking, place_create

pytestmark = [pytest.mark.browser, LIVE_DB]

PASSWORD = "a-long-enough-password"


def _emptied(schema: str) -> None:
    business_tables_truncate(schema)
    with connection.cursor() as cursor:
        tables = ("directory_listingprofile", "directory_resourcelisting")
        cursor.execute("TRUNCATE " + ", ".join(f'"{schema}"."{table}"' for table in tables))


@pytest.fixture(autouse=True)
def _acme_emptied(settings: Any, live_tenants: dict[str, Any], live_server: Any) -> Iterator[None]:
    settings.TENANT_URL_PORT = str(live_server.thread.port)
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "review_write": "100000/min",
        },
    }
    acme = live_tenants["tenants"]["acme"]
    _emptied(acme.schema_name)
    yield
    _emptied(acme.schema_name)
    DirectoryEntry.objects.filter(tenant=acme).delete()


def test_a_customer_reviews_a_visit_and_it_shows_verified(
    page: Page, live_tenants: dict[str, Any]
) -> None:
    acme = live_tenants["tenants"]["acme"]
    with tenant_context(acme):
        place = place_create(acme)
        booking = completed_booking(place, name="Maria Sanchez")
        token = review_token(booking_id=booking.pk, schema=acme.schema_name)
        email = staff_member(acme, "manager", PASSWORD)

    # the customer opens the link and sends the form without a rating
    page.goto(f"{live_tenants['acme']}/review/{token}/")
    expect(page.get_by_role("heading", name="Review your visit")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Your comment (optional)").fill("Knee much better after one session.")
    page.get_by_role("button", name="Publish review").click()
    expect(page.get_by_text("Choose a rating from 1 to 5.").first).to_be_visible()
    expect(page.get_by_label("Your comment (optional)")).to_have_value(
        "Knee much better after one session."
    )
    assert_accessible(page)
    # then chooses 4 stars and publishes
    page.get_by_label("4 stars").check()
    page.get_by_role("button", name="Publish review").click()
    expect(page.get_by_text("Thank you: your review is saved.")).to_be_visible()
    expect(page.get_by_role("button", name="Save changes")).to_be_visible()
    with tenant_context(acme):
        assert Review.objects.get(booking_id=booking.pk).rating == 4

    # a manager replies on the dashboard
    log_in(page, live_tenants["acme"], email, PASSWORD)
    page.goto(live_tenants["acme"] + "/dashboard/reviews/")
    expect(page.get_by_text("Knee much better after one session.")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Your public reply").fill("Thank you, see you soon!")
    page.get_by_role("button", name="Publish reply").click()
    expect(page.get_by_text("Reply published.")).to_be_visible()

    # the business's reviews page and /find/ show it, verified
    page.goto(live_tenants["acme"] + "/reviews/")
    expect(page.get_by_text("Verified booking")).to_be_visible()
    expect(page.get_by_text("Maria S.")).to_be_visible()
    assert_accessible(page)
    with tenant_context(acme):
        directory_index_rebuild(tenant=acme)
    page.goto(live_tenants["root"] + "/find/?q=Anna")
    expect(page.get_by_text("4.00 / 5 (1)")).to_be_visible()
    expect(page.get_by_text("Verified booking")).to_be_visible()
    assert_accessible(page)
