"""The `/find/` page on the root domain: a plain GET form, HTMX partials, field errors."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

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
