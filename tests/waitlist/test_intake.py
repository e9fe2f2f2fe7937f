"""A service's intake questions on the waitlist: asked at the join (the service, the API's
`answers`, the booking pages' form), checked as a booking's, kept encrypted on the entry,
carried to the offer's hold (so the booking has them), in the customer's export and gone
with their erasure."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import pytest
from auditlog.models import LogEntry
from django.db import connection
from django.test import Client
from django.urls import reverse

from apps.bookings import pii
from apps.bookings.customer_data import customer_erase, customer_export
from apps.bookings.models import Customer
from apps.bookings.services import booking_cancel
from apps.core.errors import ValidationFailed
from apps.resources.intake import question_create, question_remove
from apps.resources.models import IntakeQuestion
from apps.waitlist.models import WaitlistEntry, WaitlistOffer
from apps.waitlist.services import waitlist_join, waitlist_offer_accept, waitlist_offers_make
from tests.api.calls import error_of, key_client, rates, send_json
from tests.bookings.factories import CUSTOMER, STAFF, customer
from tests.dashboard.screens import HOST
from tests.waitlist.factories import FullTime, full_time

Kind = IntakeQuestion.Kind


@pytest.fixture
def asking(acme):
    """A full time of a service asking a required checkbox and an optional text."""
    full = full_time()
    consent = question_create(
        service=full.service, kind=Kind.CHECKBOX, label="I agree to the terms", required=True
    )
    allergies = question_create(service=full.service, kind=Kind.SHORT_TEXT, label="Allergies")
    return full, consent, allergies


def _join(full: FullTime, answers, name: str = "ann"):
    return waitlist_join(
        service=full.service,
        resource=full.resource,
        earliest_at=full.starts_at,
        latest_at=full.starts_at,
        customer=customer(name),
        actor=CUSTOMER,
        answers=answers,
    )


def test_the_answers_are_kept_encrypted_on_the_entry(asking):
    full, consent, allergies = asking

    entry = _join(full, {str(consent.pk): True, str(allergies.pk): "Peanuts"})

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT answers_encrypted FROM waitlist_waitlistentry WHERE id = %s", [entry.pk]
        )
        (raw,) = cursor.fetchone()
    assert raw and "Peanuts" not in raw and "Allergies" not in raw
    assert pii.token_key_id(raw) == pii.pii_key_ids()[0]
    assert [a.as_dict() for a in WaitlistEntry.objects.get(pk=entry.pk).answers] == [
        {"question": str(consent.pk), "label": "I agree to the terms", "kind": "checkbox",
         "value": True},
        {"question": str(allergies.pk), "label": "Allergies", "kind": "short_text",
         "value": "Peanuts"},
    ]  # fmt: skip


def test_the_answers_stay_out_of_the_entrys_history(asking):
    full, consent, allergies = asking

    entry = _join(full, {str(consent.pk): True, str(allergies.pk): "Peanuts"})

    [created] = LogEntry.objects.get_for_object(entry).filter(action=LogEntry.Action.CREATE)
    assert "answers_encrypted" not in created.changes_dict
    assert "status" in created.changes_dict  # (the history is written, without them)


@pytest.mark.parametrize("answers", [None, {}, "not an object"])
def test_a_required_question_unanswered_is_refused_at_its_field(asking, answers):
    full, consent, _allergies = asking
    customers_before = Customer.objects.count()

    with pytest.raises(ValidationFailed) as caught:
        _join(full, answers)

    fields = {detail.field for detail in caught.value.details}
    assert fields & {f"answers.{consent.pk}", "answers"}
    assert not WaitlistEntry.objects.exists()
    assert Customer.objects.count() == customers_before


def test_an_answer_to_no_such_question_is_refused(asking):
    full, consent, _allergies = asking
    with pytest.raises(ValidationFailed) as caught:
        _join(full, {str(consent.pk): True, "01900000-0000-7000-8000-000000000000": "x"})
    assert [d.field for d in caught.value.details] == [
        "answers.01900000-0000-7000-8000-000000000000"
    ]
    assert not WaitlistEntry.objects.exists()


def test_the_offer_carries_the_answers_to_the_booking(asking):
    # given someone waiting with their answers, one question removed since
    full, consent, allergies = asking
    entry = _join(full, {str(consent.pk): True, str(allergies.pk): "Peanuts"})
    question_remove(question=allergies)

    # when the place frees and is offered, and they take it
    booking_cancel(booking=full.bookings[0], actor=CUSTOMER)
    assert waitlist_offers_make() == 1
    offer = WaitlistOffer.objects.get(entry=entry)
    booking = waitlist_offer_accept(offer=offer)

    # then the booking has the answers the service still asks
    assert [(a.question_id, a.value) for a in booking.answers] == [(str(consent.pk), True)]


def test_the_answers_are_in_the_export_and_go_with_erasure(asking):
    full, consent, allergies = asking
    entry = _join(full, {str(consent.pk): True, str(allergies.pk): "Peanuts"})

    [row] = customer_export(customer=entry.customer)["waitlist"]
    assert [answer["value"] for answer in row["answers"]] == [True, "Peanuts"]

    customer_erase(customer=entry.customer, actor=STAFF, reason="Asked by email")
    assert not WaitlistEntry.objects.filter(pk=entry.pk).exists()


# --- Over HTTP ---------------------------------------------------------------------------


@pytest.fixture
def api(acme, settings) -> Client:
    settings.REST_FRAMEWORK = rates()
    return Client(HTTP_HOST=HOST)


def _body(full: FullTime, **changes):
    return {
        "service": str(full.service.pk),
        "resource": str(full.resource.pk),
        "earliest": full.starts_at.isoformat(),
        "latest": full.starts_at.isoformat(),
        "customer": {"name": "Ann Waiting", "email": "ann@example.test"},
        **changes,
    }


def test_the_api_takes_the_answers_and_shows_them_to_staff(asking, api):
    full, consent, allergies = asking

    missing = send_json(api, "post", "/api/v1/waitlist", _body(full, answers={}))
    joined = send_json(
        api, "post", "/api/v1/waitlist", _body(full, answers={str(consent.pk): True})
    )

    assert missing.status_code == 400
    error = error_of(missing)
    assert [d["field"] for d in error["details"]] == [f"answers.{consent.pk}"]
    assert joined.status_code == 201
    read = key_client(HOST, "readonly").get(f"/api/v1/waitlist/{joined.json()['id']}")
    assert read.json()["answers"] == [
        {"question": str(consent.pk), "label": "I agree to the terms", "kind": "checkbox",
         "value": True},
    ]  # fmt: skip
    assert str(allergies.pk) not in json.dumps(read.json())


def test_the_join_page_asks_the_questions_and_keeps_what_was_typed(shop, asking, visitor):
    full, consent, allergies = asking
    url = reverse("booking:waitlist", args=[full.service.pk, full.resource.pk])
    local = full.starts_at.astimezone(ZoneInfo(full.resource.location.timezone))
    form = {
        "day": local.date().isoformat(),
        "name": "Ann Waiting",
        "email": "ann@example.test",
        f"answer_{allergies.pk}": "Peanuts",
    }

    shown = visitor.get(url)
    refused = visitor.post(url, form)
    joined = visitor.post(url, {**form, f"answer_{consent.pk}": "on"})

    assert "I agree to the terms" in shown.content.decode()
    assert refused.status_code == 400
    body = refused.content.decode()
    assert "Tick this box to continue." in body and 'value="Peanuts"' in body
    assert joined.status_code == 200
    assert "You are on the waitlist" in joined.content.decode()
    entry = WaitlistEntry.objects.get()
    assert [a.value for a in entry.answers] == [True, "Peanuts"]
