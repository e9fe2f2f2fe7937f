"""`GET /api/v1/directory/providers` on the root domain: answers, the error envelope for
every kind of bad input, the rate limit and the OpenAPI document."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.directory.corpus import Corpus

URL = "/api/v1/directory/providers"


@pytest.fixture
def root(new_address: Any) -> Client:
    return Client(HTTP_HOST="localhost", REMOTE_ADDR=new_address())


def test_providers_lists_matches_with_their_booking_links(root: Client, corpus: Corpus) -> None:
    # when
    response = root.get(URL, {"q": "physio", "language": "sv"})
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["pagination"] == {"page": 1, "per_page": 20, "total": 1, "total_pages": 1}
    (anna,) = body["data"]
    assert anna["name"] == "Anna Berg"
    assert anna["business_name"] == "Acme Health"
    assert anna["specializations"] == ["physiotherapy"]
    assert anna["rating_average"] == "0.00" and anna["rating_count"] == 0
    assert anna["services"][0]["url"] == anna["booking_url"]
    assert str(corpus.people["Anna Berg"].pk) in anna["booking_url"]


def test_providers_near_a_point_carry_their_distance(root: Client, corpus: Corpus) -> None:
    body = root.get(URL, {"near": "51.5074,-0.1278", "radius_km": "5", "sort": "distance"}).json()
    assert [(p["name"], p["distance_km"]) for p in body["data"]] == [("Anna Berg", 0.0)]


def _in(days: int) -> str:
    return (timezone.now().date() + dt.timedelta(days=days)).isoformat()


BAD_INPUT = [
    ({"near": "91,0", "radius_km": "5"}, "near"),
    ({"near": "0,181", "radius_km": "5"}, "near"),
    ({"near": "north", "radius_km": "5"}, "near"),
    ({"near": "51.5,-0.1", "radius_km": "0"}, "radius_km"),
    ({"near": "51.5,-0.1", "radius_km": "501"}, "radius_km"),
    ({"near": "51.5,-0.1", "radius_km": "NaN"}, "radius_km"),
    ({"near": "51.5,-0.1"}, "radius_km"),
    ({"radius_km": "10"}, "near"),
    ({"min_rating": "5.5"}, "min_rating"),
    ({"min_rating": "-1"}, "min_rating"),
    ({"min_rating": "good"}, "min_rating"),
    ({"available_from": "2026-02-30"}, "available_from"),
    ({"available_from": "2000-01-01"}, "available_from"),
    ({"available_from": _in(5), "available_to": _in(2)}, "available_to"),
    ({"available_from": _in(1), "available_to": _in(100)}, "available_to"),
    ({"available_to": _in(400)}, "available_to"),
    ({"specialization": "astrology"}, "specialization"),
    ({"language": "xx"}, "language"),
    ({"language": "eng"}, "language"),
    ({"sort": "price"}, "sort"),
    ({"sort": "distance"}, "sort"),
    ({"page": "0"}, "page"),
    ({"page": "abc"}, "page"),
    ({"page": "2"}, "page"),  # past the end
    ({"per_page": "51"}, "per_page"),
    ({"page": "9" * 5000}, "page"),
    ({"radius_km": "1e999999", "near": "0,0"}, "radius_km"),
    ({"near": "0,0\x00", "radius_km": "5"}, "near"),
    ({"q": "x" * 10_240}, "q"),
    ({"page": "²"}, "page"),
    ({"per_page": "١٢"}, "per_page"),
    ({"available_from": "9999-12-31"}, "available_from"),
    ({"available_to": "9999-12-31"}, "available_to"),
    ({"available_to": _in(60)}, "available_to"),  # past what the index knows
    ({"min_rating": "1e-999999"}, "min_rating"),
    ({"min_rating": "4.123"}, "min_rating"),
    ({"min_rating": "NaN"}, "min_rating"),
    ({"radius_km": "1e-999999", "near": "0,0"}, "radius_km"),
    ({"radius_km": "inf", "near": "0,0"}, "radius_km"),
    ({"radius_km": "-0", "near": "0,0"}, "radius_km"),
    ({"qq": "physio"}, "qq"),
    ({"specialization": "physio\x00"}, "specialization"),
    ({"language": "e\x00"}, "language"),
    ({"sort": "rating\x00"}, "sort"),
    ({"available_from": "\x00"}, "available_from"),
]


@pytest.mark.parametrize(("params", "field"), BAD_INPUT)
def test_providers_refuses_bad_input_with_field_details(
    root: Client, corpus: Corpus, params: dict[str, str], field: str
) -> None:
    # when
    response = root.get(URL, params)
    # then
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert field in [detail["field"] for detail in error["details"]]
    assert error["request_id"]


def test_providers_search_with_a_nul_is_no_server_error(root: Client, corpus: Corpus) -> None:
    # PostgreSQL text cannot hold a NUL: the search must not hand one to it.
    response = root.get(URL, {"q": "phys\x00io"})
    assert response.status_code == 200


def test_providers_accept_the_last_day_the_index_knows(root: Client, corpus: Corpus) -> None:
    response = root.get(URL, {"available_from": _in(0), "available_to": _in(59)})
    assert response.status_code == 200
    response = root.get(URL, {"available_from": _in(59), "min_rating": "4.5"})
    assert response.status_code == 200


def test_providers_names_every_bad_field_at_once(root: Client, corpus: Corpus) -> None:
    response = root.get(URL, {"language": "xx", "min_rating": "9", "sort": "nope"})
    fields = {detail["field"] for detail in response.json()["error"]["details"]}
    assert fields == {"language", "min_rating", "sort"}


@pytest.mark.usefixtures("rate_clock")
def test_providers_are_rate_limited_like_other_public_reads(
    root: Client, corpus: Corpus, settings: Any
) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "anon_read": "2/min",
        },
    }
    statuses = [root.get(URL).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    last = root.get(URL)
    assert last.json()["error"]["code"] == "RATE_LIMITED"
    assert int(last["Retry-After"]) >= 1


def test_root_domain_schema_documents_the_directory(root: Client, db: None) -> None:
    schema = root.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/directory/providers"]["get"]
    parameters = {p["name"] for p in operation["parameters"]}
    assert {"q", "near", "radius_km", "min_rating", "available_from", "sort", "page"} <= parameters
    assert "400" in operation["responses"] and "429" in operation["responses"]
    # Only what the root domain serves.
    assert "/api/v1/bookings" not in schema["paths"]


def test_unknown_root_api_paths_answer_the_envelope(root: Client, db: None) -> None:
    response = root.get("/api/v1/directory/nothing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_directory_is_not_served_on_a_business_domain(acme_host: str, db: None) -> None:
    response = Client(HTTP_HOST=acme_host).get(URL)
    assert response.status_code == 404
