"""The service's intake questions in the details step of the customer booking pages:
asked with their labels, help and required marks, answers kept with the hold, and
wrong answers shown on their question with everything typed kept (nothing held)."""

from __future__ import annotations

import re

import pytest

from apps.booking_site import views as booking_views
from apps.booking_site.forms import slot_value
from apps.booking_site.intake_fields import answer_field_name
from apps.bookings.models import Booking
from apps.resources.intake import question_create, question_update, questions_asked
from apps.resources.models import IntakeQuestion

pytestmark = pytest.mark.django_db

Kind = IntakeQuestion.Kind


@pytest.fixture
def questions(catalogue):
    service = catalogue.service
    return {
        "allergies": question_create(
            service=service,
            kind=Kind.SHORT_TEXT,
            label="Any allergies?",
            help_text="Medicines or foods.",
        ),
        "areas": question_create(
            service=service,
            kind=Kind.MULTIPLE_CHOICE,
            label="Where does it hurt?",
            choices=["Neck", "Back", "Knee"],
            required=True,
        ),
        "consent": question_create(
            service=service, kind=Kind.CHECKBOX, label="I agree to the clinic's terms",
            required=True,
        ),
        "born": question_create(service=service, kind=Kind.DATE, label="Date of birth"),
    }  # fmt: skip


def _url(catalogue) -> str:
    slot = slot_value(resource_id=catalogue.ada.pk, start=catalogue.at(10))
    return f"/book/{catalogue.service.pk}/{catalogue.ada.pk}/details/?slot={slot}"


def _form(catalogue, questions, **answers: object) -> dict[str, object]:
    return {
        "name": "Jane Doe",
        "email": "jane@example.test",
        "phone": "",
        "notes": "",
        "idempotency_key": "intake-form-1",
        "slot": _url(catalogue).split("slot=")[1],
        **{answer_field_name(questions[name].pk): value for name, value in answers.items()},
    }


def test_the_details_step_asks_the_questions_with_help_and_required_marks(
    client, catalogue, questions
):
    body = client.get(_url(catalogue)).content.decode()

    allergies = answer_field_name(questions["allergies"].pk)
    areas = answer_field_name(questions["areas"].pk)
    consent = answer_field_name(questions["consent"].pk)
    assert f'<label for="id_{allergies}">Any allergies?</label>' in body
    assert f'aria-describedby="id_{allergies}_helptext"' in body and "Medicines or foods." in body
    assert '<legend>Where does it hurt? <span class="required">(required)</span></legend>' in body
    assert f'<label for="id_{areas}_2">Knee</label>' in body
    assert f'name="{consent}"' in body and 'type="checkbox"' in body
    assert 'type="date"' in body
    # asked between the phone number and the notes
    assert body.index('id="id_phone"') < body.index(allergies) < body.index('id="id_notes"')


def test_answers_are_kept_with_the_hold(client, catalogue, questions):
    response = client.post(
        _url(catalogue),
        _form(
            catalogue,
            questions,
            allergies="Penicillin",
            areas=["Knee", "Neck"],
            consent="on",
            born="1990-05-17",
        ),
    )

    assert response.status_code == 303
    booking = Booking.objects.get()
    assert [(a.label, a.value) for a in booking.answers] == [
        ("Any allergies?", "Penicillin"),
        ("Where does it hurt?", ["Neck", "Knee"]),
        ("I agree to the clinic's terms", True),
        ("Date of birth", "1990-05-17"),
    ]


def test_wrong_answers_are_shown_on_their_questions_keeping_what_was_typed(
    client, catalogue, questions
):
    response = client.post(
        _url(catalogue),
        _form(catalogue, questions, allergies="Penicillin", areas=["Back"], born="17/05/1990")
        | {"email": "not-an-email"},
    )

    body = response.content.decode()
    assert response.status_code == 400
    assert not Booking.objects.exists()
    consent = answer_field_name(questions["consent"].pk)
    born = answer_field_name(questions["born"].pk)
    # every mistake at once, each on its field, in the summary too
    assert (
        f'<p class="error" id="id_{consent}_error" role="alert">Tick this box to continue.' in body
    )
    assert f'<p class="error" id="id_{born}_error" role="alert">Enter a date as YYYY-MM-DD.' in body
    assert "Enter a valid email address." in body
    assert f'href="#id_{consent}">I agree to the clinic&#x27;s terms: Tick this box' in body
    # what was typed is still there
    assert 'value="Penicillin"' in body and 'value="17/05/1990"' in body
    assert re.search(r'<input type="checkbox" name="[^"]+" value="Back" id="[^"]+" checked>', body)
    assert not re.search(r'value="Neck" id="[^"]+" checked', body)
    assert 'value="not-an-email"' in body


def test_a_question_changed_while_the_form_was_open_is_checked_again_when_holding(
    client, catalogue, questions, monkeypatch
):
    form = _form(catalogue, questions, areas=["Neck"], consent="on")
    # the page read the questions as they were (allergies optional): its form lets the
    # answers through, so only the booking service's own reading can refuse them
    shown = list(questions_asked(service=catalogue.service))
    monkeypatch.setattr(booking_views, "questions_asked", lambda *, service: shown)
    # the clinic makes the allergies question required meanwhile
    question_update(question=questions["allergies"], data={"required": True})
    holds = []
    real_hold = booking_views.booking_hold

    def hold_spy(**kwargs: object) -> Booking:
        holds.append(kwargs["answers"])
        return real_hold(**kwargs)

    monkeypatch.setattr(booking_views, "booking_hold", hold_spy)

    response = client.post(_url(catalogue), form)

    assert len(holds) == 1  # the form passed; the hold was refused
    body = response.content.decode()
    assert response.status_code == 400
    allergies = answer_field_name(questions["allergies"].pk)
    assert f'<p class="error" id="id_{allergies}_error" role="alert">Answer this question.' in body
    assert re.search(r'value="Neck" id="[^"]+" checked', body)  # what was typed is kept
    assert not Booking.objects.exists()
