"""The language of a booking made through the API (`language` on POST /bookings, else
the request's Accept-Language) and the error envelope's human text in the request's
language (its codes stay English)."""

from __future__ import annotations

import zoneinfo

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from apps.bookings.customer_data import customer_export
from apps.bookings.models import Booking
from tests.api.calls import error_of, hold_payload, send_json

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("compiled_catalogues")]


def _hold(client, catalogue, *, key: str, **extra):
    headers = {key_: value for key_, value in extra.items() if key_.startswith("HTTP_")}
    body = {**hold_payload(catalogue), **{k: v for k, v in extra.items() if k not in headers}}
    return send_json(client, "post", "/api/v1/bookings", body, HTTP_IDEMPOTENCY_KEY=key, **headers)


def test_booking_hold_keeps_the_language_given(anon_client, catalogue):
    response = _hold(anon_client, catalogue, key="lang-1", language="fr")

    assert response.status_code == 201
    assert response.json()["language"] == "fr"
    assert Booking.objects.get().language == "fr"


def test_booking_hold_without_a_language_takes_the_requests(anon_client, catalogue):
    response = _hold(anon_client, catalogue, key="lang-2", HTTP_ACCEPT_LANGUAGE="de-CH, en;q=0.5")

    assert response.status_code == 201
    assert Booking.objects.get().language == "de"


def test_booking_hold_without_any_language_takes_the_businesss(anon_client, acme, catalogue):
    acme.locale = "es"
    acme.save(update_fields=["locale"])

    response = _hold(anon_client, catalogue, key="lang-3")

    assert response.status_code == 201
    assert Booking.objects.get().language == "es"


@pytest.mark.parametrize("language", ["xx", "german", "de_DE"])
def test_booking_hold_refuses_an_unknown_language_in_the_envelope(anon_client, catalogue, language):
    # when the language is not one we speak
    response = _hold(anon_client, catalogue, key=f"lang-bad-{language}", language=language)

    # then nothing is held and the field says which codes there are
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "VALIDATION_ERROR"
    (detail,) = [d for d in error["details"] if d["field"] == "language"]
    assert f"“{language}”" in detail["message"] and "en, de, fr, es" in detail["message"]
    assert not Booking.objects.exists()


def test_error_envelope_speaks_the_requests_language_with_english_codes(anon_client, catalogue):
    # given the first slot taken
    assert _hold(anon_client, catalogue, key="lang-first").status_code == 201

    # when a German client asks for it too
    response = _hold(anon_client, catalogue, key="lang-second", HTTP_ACCEPT_LANGUAGE="de")

    # then the code is the contract's, the message German
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "SLOT_FULL"
    assert error["message"] == "Diese Zeit ist nicht mehr frei."
    english = _hold(anon_client, catalogue, key="lang-third", HTTP_ACCEPT_LANGUAGE="en")
    assert error_of(english)["message"] == "That time is no longer available."


def test_the_bookings_language_is_in_the_customers_data_export(anon_client, catalogue):
    _hold(anon_client, catalogue, key="lang-export", language="es")

    booking = Booking.objects.get()
    [exported] = customer_export(customer=booking.customer)["bookings"]
    assert exported["language"] == "es"


def test_the_schema_lists_the_language_codes_of_both_booking_operations(anon_client):
    schema = anon_client.get("/api/schema/?format=json").json()

    def body_of(path: str) -> dict:
        ref = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        name = ref["schema"]["$ref"].rsplit("/", 1)[1]
        return schema["components"]["schemas"][name]

    def codes(field: dict) -> list[str]:
        [ref] = field.get("allOf", [field])  # drf-spectacular names enums as components
        name = ref.get("$ref", "").rsplit("/", 1)[-1]
        return (schema["components"]["schemas"][name] if name else ref)["enum"]

    for path in ("/api/v1/bookings", "/api/v1/bookings/series"):
        assert codes(body_of(path)["properties"]["language"]) == ["en", "de", "fr", "es"], path


def test_the_language_costs_the_cached_slots_answer_no_statement(
    readonly_client, catalogue, settings
):
    day = catalogue.start.astimezone(zoneinfo.ZoneInfo("Europe/London")).date()
    url = (
        f"/api/v1/slots?service={catalogue.service.pk}&resource={catalogue.resource.pk}&date={day}"
    )
    readonly_client.get(url)  # the availability cache is warm

    def statements() -> tuple[int, HttpResponse]:
        with CaptureQueriesContext(connection) as captured:
            response = readonly_client.get(url, HTTP_ACCEPT_LANGUAGE="de")
        assert response.status_code == 200
        return len(captured.captured_queries), response

    # when the same warm answer is asked for with the language middleware and without it
    with_language, response = statements()
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.endswith("LanguageMiddleware")]
    with translation.override("en"):
        without_language, _ = statements()

    # then the language adds no statement, and the answer says what it varies by
    assert with_language == without_language
    assert response["Content-Language"] == "de"
    assert "accept-language" in response["Vary"].lower()


@pytest.mark.parametrize(
    ("language", "message", "detail"),
    [
        ("de", "Die Anfrage ist ungültig.", "Senden Sie ein JSON-Objekt."),
        ("en", "The request is not valid.", "Send a JSON object."),
    ],
)
def test_a_change_that_is_not_a_json_object_is_refused_in_the_requests_language(
    admin_client, catalogue, language, message, detail
):
    # when a change to a resource is sent as a JSON list, in that language
    response = send_json(
        admin_client,
        "patch",
        f"/api/v1/admin/resources/{catalogue.resource.pk}",
        ["name", "Room 9"],
        HTTP_ACCEPT_LANGUAGE=language,
    )

    # then the field detail speaks that language, the code stays English, nothing changed
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "VALIDATION_ERROR"
    assert error["message"] == message
    assert error["details"] == [{"field": "", "message": detail}]
    catalogue.resource.refresh_from_db()
    assert catalogue.resource.name != "Room 9"
