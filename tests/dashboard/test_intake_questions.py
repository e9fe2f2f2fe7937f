"""A service's intake questions on the dashboard (managers and up): added, changed, moved
and removed through apps/resources/intake.py, field errors beside what was typed, the
list on the service's page; and the answers on a booking's page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.bookings.services import CustomerInput, booking_hold
from apps.resources.intake import question_create, questions_asked
from apps.resources.models import IntakeQuestion
from tests.bookings.factories import CUSTOMER, future_start, slots_create

pytestmark = pytest.mark.django_db


def _asked(service) -> list[tuple[str, str]]:
    return [(q.label, q.kind) for q in questions_asked(service=service)]


def test_a_manager_adds_a_choice_question_shown_on_the_services_page(client_as, clinic):
    manager = client_as("manager")
    service_page = reverse("dashboard:service_edit", kwargs={"service_id": clinic.service.pk})

    response = manager.post(
        reverse("dashboard:question_create", kwargs={"service_id": clinic.service.pk}),
        {
            "label": "Which side hurts?",
            "kind": "single_choice",
            "choices": "Left\r\n\r\nRight\r\n",
            "help_text": "Pick the worse one.",
            "required": "on",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == f"{service_page}#questions"
    question = IntakeQuestion.objects.get(service=clinic.service)
    assert (question.label, question.kind, question.choices, question.required) == (
        "Which side hurts?",
        "single_choice",
        ["Left", "Right"],
        True,
    )
    body = manager.get(service_page).content.decode()
    assert "Which side hurts?" in body and "Left, Right" in body


def test_a_choice_question_without_choices_comes_back_with_what_was_typed(client_as, clinic):
    response = client_as("manager").post(
        reverse("dashboard:question_create", kwargs={"service_id": clinic.service.pk}),
        {"label": "Preferred language", "kind": "multiple_choice", "choices": "  \r\n"},
        HTTP_HX_REQUEST="true",
    )

    body = response.content.decode()
    assert response.status_code == 400
    assert "Give at least one choice, one per line." in body
    assert 'value="Preferred language"' in body
    assert "<html" not in body  # the partial, for htmx to swap in
    assert not IntakeQuestion.objects.exists()


def test_editing_a_question_changes_it_and_keeps_answers_given_as_asked(client_as, clinic):
    question = question_create(service=clinic.service, kind="short_text", label="Allergies?")
    slots_create(resource=clinic.smith, starts_at=(start := future_start()))
    booking = booking_hold(
        service=clinic.service,
        resource=clinic.smith,
        starts_at=start,
        customer=CustomerInput(name="Ada Lovelace", email="ada@example.test"),
        answers={str(question.pk): "Peanuts"},
        actor=CUSTOMER,
    )

    response = client_as("manager").post(
        reverse("dashboard:question_edit", kwargs={"question_id": question.pk}),
        {"label": "Food allergies", "kind": "long_text", "choices": "", "help_text": ""},
    )

    assert response.status_code == 302
    assert _asked(clinic.service) == [("Food allergies", "long_text")]
    page = client_as("frontdesk").get(reverse("dashboard:booking", args=[booking.pk]))
    body = page.content.decode()
    assert "Answers to the booking questions" in body
    assert "Allergies?" in body and "Peanuts" in body


def test_questions_move_and_are_removed_with_htmx_answering_the_list(client_as, clinic):
    first = question_create(service=clinic.service, kind="short_text", label="First")
    second = question_create(service=clinic.service, kind="date", label="Second")
    manager = client_as("manager")

    moved = manager.post(
        reverse("dashboard:question_move", kwargs={"question_id": second.pk}),
        {"direction": "up"},
        HTTP_HX_REQUEST="true",
    )
    at_the_top = manager.post(  # nothing above: nothing changes
        reverse("dashboard:question_move", kwargs={"question_id": second.pk}),
        {"direction": "up"},
    )
    assert _asked(clinic.service) == [("Second", "date"), ("First", "short_text")]
    removed = manager.post(reverse("dashboard:question_remove", kwargs={"question_id": first.pk}))

    assert moved.status_code == 200
    assert 'id="service-questions"' in moved.content.decode()
    assert "<html" not in moved.content.decode()
    assert at_the_top.status_code == 302
    assert removed.status_code == 302
    assert _asked(clinic.service) == [("Second", "date")]
    first.refresh_from_db()
    assert first.removed_at is not None  # kept for the answers that name it
    gone = manager.get(reverse("dashboard:question_edit", kwargs={"question_id": first.pk}))
    assert gone.status_code == 404


@pytest.mark.parametrize("role", ["frontdesk", "scheduler"])
def test_below_manager_questions_cannot_be_changed(client_as, clinic, role):
    question = question_create(service=clinic.service, kind="short_text", label="Allergies?")
    client = client_as(role)

    moved = client.post(
        reverse("dashboard:question_move", kwargs={"question_id": question.pk}),
        {"direction": "down"},
    )
    removed = client.post(reverse("dashboard:question_remove", kwargs={"question_id": question.pk}))

    assert (moved.status_code, removed.status_code) == (403, 403)
    assert _asked(clinic.service) == [("Allergies?", "short_text")]
