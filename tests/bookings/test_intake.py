"""Intake answers in the booking core: each kind checked (valid and not), required
questions, unknown question ids, nothing written when an answer is wrong, answers kept
encrypted with the label and kind they were asked with, and erased with the customer."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.bookings import pii
from apps.bookings.actors import ActorRef
from apps.bookings.customer_data import customer_erase, customer_export
from apps.bookings.intake import answers_check, answers_clean
from apps.bookings.models import Booking, BookingEvent, Customer
from apps.bookings.services import booking_hold
from apps.calendars.models import SlotInstance
from apps.core.errors import ValidationFailed
from apps.resources.intake import (
    question_create,
    question_remove,
    question_update,
    questions_asked,
)
from apps.resources.models import IntakeQuestion, Service
from tests.bookings.factories import (
    CUSTOMER,
    STAFF,
    ResourceFactory,
    ServiceFactory,
    customer,
    future_start,
    slots_create,
)

pytestmark = pytest.mark.django_db

Kind = IntakeQuestion.Kind


@pytest.fixture
def asked(acme):
    """A service asking one question of each kind (only the checkbox is required), a
    resource delivering it and a free slot."""
    resource = ResourceFactory()
    service = ServiceFactory(resources=[resource])
    questions = {
        "short": question_create(service=service, kind=Kind.SHORT_TEXT, label="Allergies"),
        "long": question_create(service=service, kind=Kind.LONG_TEXT, label="History"),
        "single": question_create(
            service=service, kind=Kind.SINGLE_CHOICE, label="Side", choices=["Left", "Right"]
        ),
        "multiple": question_create(
            service=service,
            kind=Kind.MULTIPLE_CHOICE,
            label="Areas",
            choices=["Neck", "Back", "Knee"],
        ),
        "consent": question_create(
            service=service, kind=Kind.CHECKBOX, label="I agree to the terms", required=True
        ),
        "date": question_create(service=service, kind=Kind.DATE, label="Date of birth"),
    }
    start = future_start()
    slots_create(resource=resource, starts_at=start)
    return service, resource, start, questions


def _ids(questions: dict[str, IntakeQuestion], **values: object) -> dict[str, object]:
    return {str(questions[name].pk): value for name, value in values.items()}


def _errors(error: ValidationFailed) -> dict[str, list[str]]:
    return error.field_messages()


def test_every_kind_is_kept_cleaned_in_the_order_asked(asked):
    service, _, _, q = asked

    answers = answers_clean(
        service=service,
        answers=_ids(
            q,
            date="1990-05-17",
            multiple=["Knee", "Neck"],
            consent=True,
            single="Left",
            long="  Knee surgery in 2019.\nNo other.  ",
            short=" Peanuts ",
        ),
    )

    assert [(a.label, a.kind, a.value) for a in answers] == [
        ("Allergies", "short_text", "Peanuts"),
        ("History", "long_text", "Knee surgery in 2019.\nNo other."),
        ("Side", "single_choice", "Left"),
        ("Areas", "multiple_choice", ["Neck", "Knee"]),  # in the offered order
        ("I agree to the terms", "checkbox", True),
        ("Date of birth", "date", "1990-05-17"),
    ]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("short", 42, "Enter text."),
        ("short", "x" * 201, "Keep it to 200 characters."),
        ("long", "x" * 5001, "Keep it to 5000 characters."),
        ("single", "Middle", "Choose one of the options given."),
        ("single", ["Left"], "Choose one of the options given."),
        ("multiple", "Neck", "Give the chosen options as a list."),
        ("multiple", ["Neck", "Elbow"], "Choose only from the options given."),
        ("consent", "yes", "Answer true or false."),
        ("consent", False, "Tick this box to continue."),
        ("date", "17/05/1990", "Enter a date as YYYY-MM-DD."),
        ("date", "1990-02-30", "Enter a date as YYYY-MM-DD."),
        ("date", "19900517", "Enter a date as YYYY-MM-DD."),
        ("date", "0001-01-01", "Enter a date between 1900 and 2199."),
    ],
)
def test_a_wrong_answer_is_refused_at_its_question(asked, name, value, message):
    service, _, _, q = asked
    answers = _ids(q, consent=True)
    answers[str(q[name].pk)] = value

    with pytest.raises(ValidationFailed) as refused:
        answers_clean(service=service, answers=answers)

    assert _errors(refused.value) == {f"answers.{q[name].pk}": [message]}


def test_required_questions_must_be_answered_and_optional_ones_may_be_left_out(asked):
    service, _, _, q = asked
    for name in ("short", "single", "date"):
        question_update(question=q[name], data={"required": True})

    with pytest.raises(ValidationFailed) as refused:
        answers_clean(service=service, answers=_ids(q, short="   ", single=""))

    assert _errors(refused.value) == {
        f"answers.{q['short'].pk}": ["Answer this question."],
        f"answers.{q['single'].pk}": ["Answer this question."],
        f"answers.{q['consent'].pk}": ["Tick this box to continue."],
        f"answers.{q['date'].pk}": ["Answer this question."],
    }
    # optional ones left empty are not kept; an unticked optional checkbox is, as false
    question_update(question=q["consent"], data={"required": False})
    kept = answers_clean(
        service=service, answers=_ids(q, short="x", single="Left", date="2000-01-31")
    )
    assert [a.value for a in kept if a.kind == "checkbox"] == [False]
    with pytest.raises(ValidationFailed):
        answers_clean(service=service, answers=_ids(q, short="x", single="Left"))


def test_unknown_and_removed_question_ids_are_refused(asked):
    service, _, _, q = asked
    other = question_create(
        service=ServiceFactory(), kind=Kind.SHORT_TEXT, label="Another service's"
    )
    question_remove(question=q["short"])

    with pytest.raises(ValidationFailed) as refused:
        answers_clean(
            service=service,
            answers=_ids(q, consent=True, short="kept?") | {str(other.pk): "x", "not-an-id": "y"},
        )

    assert _errors(refused.value) == {
        f"answers.{q['short'].pk}": ["This service asks no such question."],
        f"answers.{other.pk}": ["This service asks no such question."],
        "answers.not-an-id": ["This service asks no such question."],
    }


def test_answers_that_are_not_an_object_are_refused(asked):
    service, *_ = asked

    with pytest.raises(ValidationFailed) as refused:
        answers_clean(service=service, answers=["yes"])

    assert list(_errors(refused.value)) == ["answers"]


def test_a_bad_answer_holds_nothing_and_reports_every_problem_at_once(asked):
    service, resource, start, q = asked

    with pytest.raises(ValidationFailed) as refused:
        booking_hold(
            service=service,
            resource=resource,
            starts_at=start,
            customer=customer("new"),
            answers=_ids(q, consent=False, single="Middle"),
            actor=CUSTOMER,
        )

    assert set(_errors(refused.value)) == {
        f"answers.{q['consent'].pk}",
        f"answers.{q['single'].pk}",
    }
    assert not Booking.objects.exists()
    assert not Customer.objects.exists()
    assert not BookingEvent.objects.exists()
    slot = SlotInstance.objects.get(resource=resource)
    assert (slot.held, slot.booked) == (0, 0)


def test_a_hold_keeps_its_answers_encrypted_with_the_question_as_asked(asked):
    service, resource, start, q = asked

    booking = booking_hold(
        service=service,
        resource=resource,
        starts_at=start,
        customer=customer(1),
        answers=_ids(q, short="Peanuts", consent=True),
        actor=CUSTOMER,
    )
    question_update(question=q["short"], data={"label": "Food allergies", "kind": "long_text"})
    question_remove(question=q["consent"])

    with connection.cursor() as cursor:
        cursor.execute("SELECT answers_encrypted FROM bookings_booking WHERE id = %s", [booking.pk])
        (raw,) = cursor.fetchone()
    assert "Peanuts" not in raw and "Allergies" not in raw
    assert pii.token_key_id(raw) == pii.pii_key_ids()[0]
    stored = Booking.objects.get(pk=booking.pk)
    assert [a.as_dict() for a in stored.answers] == [
        {"question": str(q["short"].pk), "label": "Allergies", "kind": "short_text",
         "value": "Peanuts"},
        {"question": str(q["consent"].pk), "label": "I agree to the terms",
         "kind": "checkbox", "value": True},
    ]  # fmt: skip


def test_a_hold_without_answers_asked_keeps_none(asked):
    service, resource, start, _ = asked

    # staff booking someone by phone: the questions were not asked
    booking = booking_hold(
        service=service, resource=resource, starts_at=start, customer=customer(2), actor=STAFF
    )

    assert booking.answers_encrypted == ""
    assert booking.answers == []


@pytest.mark.parametrize(
    "actor",
    [CUSTOMER, ActorRef.api_key("00000000-0000-7000-8000-0000000000aa", label="CRM")],
    ids=["customer", "api_key"],
)
def test_a_hold_sent_without_answers_by_anyone_but_staff_must_answer_the_required_ones(
    asked, actor
):
    service, resource, start, q = asked

    # given no answers at all (answers=None) from a caller other than staff
    with pytest.raises(ValidationFailed) as refused:
        booking_hold(
            service=service,
            resource=resource,
            starts_at=start,
            customer=customer(4),
            actor=actor,
        )

    # then it is refused like an empty set of answers: the required checkbox is owed
    assert _errors(refused.value) == {f"answers.{q['consent'].pk}": ["Tick this box to continue."]}
    assert not Booking.objects.exists()


def test_the_questions_are_read_again_when_holding(asked):
    service, resource, start, q = asked
    # given answers that were right for the questions as the customer saw them
    shown = list(questions_asked(service=service))
    answers = _ids(q, consent=True)
    assert answers_check(questions=shown, answers=answers)
    # when the clinic makes a question required before the hold arrives
    question_update(question=q["short"], data={"required": True})

    with pytest.raises(ValidationFailed) as refused:
        booking_hold(
            service=service,
            resource=resource,
            starts_at=start,
            customer=customer(5),
            answers=answers,
            actor=CUSTOMER,
        )

    # then the hold checks them against the questions as they are now
    assert _errors(refused.value) == {f"answers.{q['short'].pk}": ["Answer this question."]}
    assert not Booking.objects.exists()


def _intake_reads(statements: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in statements.captured_queries if "resources_intakequestion" in q["sql"]]


def test_a_hold_of_a_service_asking_nothing_reads_no_questions(asked):
    # given a service that asks nothing (one of its two questions asked, then removed)
    _, resource, start, _ = asked
    plain = ServiceFactory(resources=[resource])
    removed = question_create(service=plain, kind=Kind.SHORT_TEXT, label="Dropped")
    question_remove(question=removed)
    plain = Service.objects.get(pk=plain.pk)
    assert plain.questions_asked_count == 0

    with CaptureQueriesContext(connection) as statements:
        booking = booking_hold(
            service=plain,
            resource=resource,
            starts_at=start,
            customer=customer(6),
            answers={},
            actor=CUSTOMER,
        )

    # then its hold spends no statement on questions
    assert booking.answers == []
    assert _intake_reads(statements) == []


def test_a_hold_of_a_service_asking_questions_reads_them_once(asked):
    service, resource, start, q = asked
    service = Service.objects.get(pk=service.pk)
    assert service.questions_asked_count == 6

    with CaptureQueriesContext(connection) as statements:
        booking_hold(
            service=service,
            resource=resource,
            starts_at=start,
            customer=customer(7),
            answers=_ids(q, consent=True),
            actor=CUSTOMER,
        )

    assert len(_intake_reads(statements)) == 1


def test_the_count_of_questions_asked_follows_adds_and_removals(acme):
    service = ServiceFactory()
    first = question_create(service=service, kind=Kind.SHORT_TEXT, label="One")
    question_create(service=service, kind=Kind.DATE, label="Two")
    # the caller's copy of the service is kept up to date too (no question skipped)
    assert service.questions_asked_count == 2

    question_remove(question=first)
    question_remove(question=first)  # removing twice counts once

    assert Service.objects.get(pk=service.pk).questions_asked_count == 1


def test_answers_join_the_customers_export_and_go_with_the_erasure(asked):
    service, resource, start, q = asked
    booking = booking_hold(
        service=service,
        resource=resource,
        starts_at=start,
        customer=customer(3),
        answers=_ids(q, short="Peanuts", consent=True, date="1990-05-17"),
        actor=CUSTOMER,
    )

    exported = customer_export(customer=booking.customer)
    erased = customer_erase(customer=booking.customer, actor=STAFF, reason="Request #12")

    answers = exported["bookings"][0]["answers"]
    assert [(a["label"], a["value"]) for a in answers] == [
        ("Allergies", "Peanuts"),
        ("I agree to the terms", True),
        ("Date of birth", "1990-05-17"),
    ]
    assert json.dumps(exported)  # JSON-ready
    assert not erased.already_erased
    after = Booking.objects.get(pk=booking.pk)
    assert (after.answers_encrypted, after.answers) == ("", [])
    assert customer_export(customer=erased.customer)["bookings"][0]["answers"] == []
