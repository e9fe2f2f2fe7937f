"""The `/find/` page on the root domain: a plain GET form, HTMX partials, field errors."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone, translation

from apps.accounts.models import Tenant
from apps.directory.index.models import DirectoryEntry
from apps.directory.indexing import directory_index_rebuild
from apps.directory.taxonomy import language_choices
from apps.resources.models import Location
from tests.directory.corpus import Corpus


@pytest.fixture
def root(new_address: Any) -> Client:
    return Client(HTTP_HOST="localhost", REMOTE_ADDR=new_address())


def test_find_page_shows_results_linking_to_the_booking_page(root: Client, corpus: Corpus) -> None:
    # when: the form is submitted without JS (a plain GET)
    response = root.get("/find/", {"q": "dentist"})
    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert "<form" in html and 'method="get"' in html
    assert "1 provider found" in html
    assert "Dev Patel" in html and "Anna Berg" not in html
    assert "/book/" in html and str(corpus.people["Dev Patel"].pk) in html


def test_find_page_answers_htmx_with_the_results_only(root: Client, corpus: Corpus) -> None:
    response = root.get("/find/", {"language": "de"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and "<form" not in html
    assert "José Müller" in html
    assert "HX-Request" in response["Vary"]


def test_find_page_keeps_what_was_typed_and_names_the_field(root: Client, corpus: Corpus) -> None:
    response = root.get("/find/", {"q": "physio", "near": "95,10", "radius_km": "20"})
    html = response.content.decode()
    assert response.status_code == 400
    assert 'value="physio"' in html and 'value="95,10"' in html
    assert "The latitude must be between -90 and 90." in html
    assert 'id="id_near_error"' in html


def test_find_page_survives_a_huge_query(root: Client, corpus: Corpus) -> None:
    response = root.get("/find/", {"q": "ß" * 10_000})
    assert response.status_code == 400
    assert "Keep the search under 201 characters." in response.content.decode()


def test_find_page_with_nothing_asked_lists_everyone(root: Client, corpus: Corpus) -> None:
    html = root.get("/find/").content.decode()
    assert "4 providers found" in html


def _in(days: int) -> str:
    return (timezone.now().date() + dt.timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    ("params", "label"),
    [
        ({"page": "²"}, None),
        ({"available_from": "9999-12-31"}, "Free from"),
        ({"available_to": _in(60)}, "Free until"),
        ({"min_rating": "1e-999999"}, "Lowest rating (0 to 5)"),
        ({"near": "0,0", "radius_km": "1e-999999"}, "Within (km)"),
        ({"q": "physio", "qq": "x"}, None),
    ],
)
def test_find_page_refuses_odd_input_without_a_server_error(
    root: Client, corpus: Corpus, params: dict[str, str], label: str | None
) -> None:
    response = root.get("/find/", params)
    html = response.content.decode()
    assert response.status_code == 400
    assert "Please correct the search:" in html
    if label is not None:
        assert f"{label}</a>:" in html


def test_find_page_under_htmx_swaps_the_form_in_with_its_errors(
    root: Client, corpus: Corpus
) -> None:
    # when: a refused search, submitted with htmx
    response = root.get(
        "/find/", {"q": "physio", "near": "95,10", "radius_km": "20"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    # then: the form comes along out of band, each field marked, what was typed kept
    assert response.status_code == 400
    assert 'id="directory-search"' in html and 'hx-swap-oob="true"' in html
    assert 'aria-invalid="true"' in html and 'value="physio"' in html
    assert '<p id="search-status" hx-swap-oob="innerHTML">The search needs correcting.' in html


def test_find_page_announces_only_the_status_line(root: Client, corpus: Corpus) -> None:
    page = root.get("/find/", {"q": "dentist"}).content.decode()
    assert page.count("aria-live") == 1
    assert 'role="status" aria-live="polite">1 provider found</p>' in page
    partial = root.get("/find/", {"q": "dentist"}, HTTP_HX_REQUEST="true").content.decode()
    assert '<p id="search-status" hx-swap-oob="innerHTML">1 provider found</p>' in partial
    assert "aria-live" not in partial and 'role="alert"' not in partial


@pytest.mark.usefixtures("rate_clock")
def test_find_page_says_when_searches_come_too_fast(
    root: Client, corpus: Corpus, settings: Any
) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "anon_read": "1/min",
        },
    }
    assert root.get("/find/", HTTP_HX_REQUEST="true").status_code == 200
    response = root.get("/find/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    assert "Too many searches. Try again in a minute." in html
    assert 'id="search-status" hx-swap-oob="innerHTML"' in html
    assert "<html" not in html
    # and without htmx, a page saying the same
    plain = root.get("/find/")
    assert plain.status_code == 429 and "<html" in plain.content.decode()
    assert "Too many searches" in plain.content.decode()


def test_find_page_shows_the_next_free_time_in_the_location_zone(
    root: Client, corpus: Corpus, acme: Tenant
) -> None:
    # given: Dev works in Tokyo
    dev = corpus.people["Dev Patel"]
    Location.objects.filter(pk=dev.location_id).update(timezone="Asia/Tokyo")
    directory_index_rebuild(tenant=acme)
    entry = DirectoryEntry.objects.get(resource_id=dev.pk)
    assert entry.time_zone == "Asia/Tokyo" and entry.next_free_at is not None
    # when
    html = root.get("/find/", {"q": "dentist"}).content.decode()
    # then
    local = entry.next_free_at.astimezone(ZoneInfo("Asia/Tokyo"))
    utc = entry.next_free_at.astimezone(dt.UTC)
    assert f"{local:%H:%M}" in html and f"{utc:%H:%M}" not in html


def test_language_names_are_translated() -> None:
    with translation.override("de"):
        assert dict(language_choices())["de"] == "Deutsch"
    assert dict(language_choices())["de"] == "German"
