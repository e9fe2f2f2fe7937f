"""The bookings CSV export with intake answers: one column per question (its label),
the union over the exported bookings' services in a stable order, a removed question
kept while bookings here answered it, answers decrypted per row."""

from __future__ import annotations

import csv
import io

import pytest
from auditlog.models import LogEntry
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Membership
from apps.bookings.actors import ActorRef
from apps.bookings.exports import BOOKING_COLUMNS, bookings_csv
from apps.bookings.models import Booking
from apps.bookings.services import CustomerInput, booking_hold
from apps.resources.intake import question_create, question_remove, question_update
from apps.resources.models import IntakeQuestion
from tests.bookings.factories import CUSTOMER, future_start, slots_create
from tests.dashboard.factories import ServiceFactory
from tests.plugins.factories import MembershipFactory

pytestmark = pytest.mark.django_db

Kind = IntakeQuestion.Kind


def _csv(bookings) -> list[list[str]]:
    lines = bookings_csv(bookings, actor=ActorRef.system("test"), filters={}, answers=True)
    return list(csv.reader(io.StringIO("".join(lines))))


def _hold(service, resource, start, answers, n):
    slots_create(resource=resource, starts_at=start)
    return booking_hold(
        service=service,
        resource=resource,
        starts_at=start,
        customer=CustomerInput(name=f"Customer {n}", email=f"c{n}@example.test"),
        answers={str(q.pk): value for q, value in answers.items()},
        actor=CUSTOMER,
    )


def test_answers_become_one_column_per_question_across_services(clinic):
    checkup = clinic.service
    massage = ServiceFactory.create(name="Massage", resources=[clinic.jones])
    allergies = question_create(service=checkup, kind=Kind.SHORT_TEXT, label="Allergies")
    areas = question_create(
        service=checkup, kind=Kind.MULTIPLE_CHOICE, label="Areas", choices=["Neck", "Back"]
    )
    consent = question_create(service=massage, kind=Kind.CHECKBOX, label="=Consent")
    massage_allergies = question_create(service=massage, kind=Kind.SHORT_TEXT, label="Allergies")
    start = future_start()
    first = _hold(checkup, clinic.smith, start, {allergies: "Peanuts", areas: ["Back", "Neck"]}, 1)
    second = _hold(massage, clinic.jones, start, {consent: True, massage_allergies: "None"}, 2)
    question_update(question=areas, data={"label": "Where it hurts"})

    header, *rows = _csv(Booking.objects.all())

    # by service name, then in the order asked; a label two services use names its service;
    # a label a spreadsheet would run is quoted
    assert header == [
        *BOOKING_COLUMNS,
        "Allergies (Check-up)",
        "Where it hurts",  # headed by the question's label of today
        "'=Consent",
        "Allergies (Massage)",
    ]
    answers = {row[0]: row[len(BOOKING_COLUMNS) :] for row in rows}
    assert answers[str(first.pk)] == ["Peanuts", "Neck; Back", "", ""]
    assert answers[str(second.pk)] == ["", "", "true", "None"]


def test_a_removed_question_keeps_its_column_while_exported_bookings_answered_it(clinic):
    asked = question_create(service=clinic.service, kind=Kind.DATE, label="Date of birth")
    booking = _hold(clinic.service, clinic.smith, future_start(), {asked: "1990-05-17"}, 1)
    question_remove(question=asked)
    never_answered = question_create(service=clinic.service, kind=Kind.SHORT_TEXT, label="Old")
    question_remove(question=never_answered)

    header, row = _csv(Booking.objects.filter(pk=booking.pk))

    assert header[len(BOOKING_COLUMNS) :] == ["Date of birth"]
    assert row[len(BOOKING_COLUMNS) :] == ["1990-05-17"]


def _exported(client) -> list[dict[str, str]]:
    response = client.get(reverse("dashboard:bookings_export"))
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def _recorded_answers() -> list[bool]:
    entries = LogEntry.objects.filter(action=LogEntry.Action.ACCESS).order_by("timestamp")
    return [
        entry.additional_data["answers"]
        for entry in entries
        if (entry.additional_data or {}).get("action") == "bookings.exported"
    ]


@pytest.fixture
def answered(clinic):
    question = question_create(service=clinic.service, kind=Kind.LONG_TEXT, label="History")
    _hold(clinic.service, clinic.smith, future_start(), {question: "Knee surgery, 2019"}, 1)
    return question


def test_an_admin_past_the_second_factor_exports_the_answer_columns(client_as, answered):
    rows = _exported(client_as(Membership.Role.ADMIN))

    assert [row["History"] for row in rows] == ["Knee surgery, 2019"]
    assert _recorded_answers() == [True]


def test_a_manager_exports_the_bookings_without_the_answers(client_as, answered):
    client = client_as(Membership.Role.MANAGER)

    rows = _exported(client)

    assert [row["id"] for row in rows] == [str(Booking.objects.get().pk)]
    assert list(rows[0]) == list(BOOKING_COLUMNS)
    assert "Knee surgery" not in str(rows)
    assert _recorded_answers() == [False]
    # and the list says why
    listed = client.get(reverse("dashboard:bookings")).content.decode()
    assert "Answers to intake questions are exported by admins only." in listed


def test_an_admin_of_a_business_not_live_without_a_factor_exports_no_answers(acme, answered):
    # an admin who has not set up the second factor yet, which the set-up screens let
    # in before the business goes live (the customers export does not)
    acme.live_at = None
    acme.save(update_fields=["live_at"])
    membership = MembershipFactory.create(tenant=acme, role=Membership.Role.ADMIN)
    client = Client(HTTP_HOST="acme.localhost")
    client.force_login(membership.user)
    assert client.get(reverse("dashboard:customers_export")).status_code == 302

    rows = _exported(client)

    assert "History" not in rows[0]
    assert _recorded_answers() == [False]
