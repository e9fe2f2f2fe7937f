"""Intake questions through the API: a service's questions in its output, `answers` on
POST bookings (checked, refused in the one error envelope with a detail per answer,
nothing held), the answers in the booking's admin output and in outbound webhook
payloads, and the OpenAPI document describing them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.bookings.customer_data import customer_erase
from apps.bookings.models import Booking, Customer
from apps.notifications.models import WebhookAttempt, WebhookEvent
from apps.notifications.webhooks.selectors import webhook_event_payload
from apps.notifications.webhooks.services import webhook_endpoint_create
from apps.resources.intake import question_create, question_move, question_remove
from apps.resources.models import IntakeQuestion
from tests.api.calls import error_of, hold_payload, send_json
from tests.bookings.factories import STAFF, ServiceFactory

pytestmark = pytest.mark.django_db

Kind = IntakeQuestion.Kind


@pytest.fixture
def asked(catalogue):
    service = catalogue.service
    return {
        "side": question_create(
            service=service,
            kind=Kind.SINGLE_CHOICE,
            label="Which side?",
            choices=["Left", "Right"],
            required=True,
            help_text="The worse one.",
        ),
        "consent": question_create(
            service=service, kind=Kind.CHECKBOX, label="I agree", required=True
        ),
        "born": question_create(service=service, kind=Kind.DATE, label="Date of birth"),
    }


def _hold(client, catalogue, answers, *, key="intake-1"):
    payload = hold_payload(catalogue) | ({"answers": answers} if answers is not None else {})
    return send_json(client, "post", "/api/v1/bookings", payload, HTTP_IDEMPOTENCY_KEY=key)


def test_a_services_questions_are_in_its_output(anon_client, admin_client, catalogue, asked):
    question_remove(question=asked["born"])

    listed = anon_client.get("/api/v1/services").json()["data"][0]
    one = admin_client.get(f"/api/v1/admin/services/{catalogue.service.pk}").json()

    assert (
        listed["questions"]
        == one["questions"]
        == [
            {
                "id": str(asked["side"].pk),
                "kind": "single_choice",
                "label": "Which side?",
                "help_text": "The worse one.",
                "required": True,
                "choices": ["Left", "Right"],
            },
            {
                "id": str(asked["consent"].pk),
                "kind": "checkbox",
                "label": "I agree",
                "help_text": "",
                "required": True,
                "choices": [],
            },
        ]
    )


def test_the_services_list_reads_only_the_asked_questions_in_one_statement(
    anon_client, admin_client, catalogue, asked
):
    # given several services, one asking nothing and one with a question removed
    ServiceFactory.create(name="Walk-in", resources=[catalogue.resource])
    question_remove(question=asked["born"])
    question_move(question=asked["consent"], direction="up")
    admin_client.get("/api/v1/admin/services")  # (the first request reads the API key)

    for client, path in (
        (anon_client, "/api/v1/services"),
        (admin_client, "/api/v1/admin/services"),
    ):
        with CaptureQueriesContext(connection) as statements:
            listed = client.get(path).json()["data"]

        # then one statement reads the questions, and the database leaves the removed
        # ones out and orders them (the one definition of asked questions)
        reads = [q["sql"] for q in statements.captured_queries if "intakequestion" in q["sql"]]
        assert len(reads) == 1
        assert '"removed_at" IS NULL' in reads[0] and "ORDER BY" in reads[0]
        by_name = {service["name"]: service["questions"] for service in listed}
        assert [q["label"] for q in by_name["Consultation"]] == ["I agree", "Which side?"]
        assert by_name["Walk-in"] == []


def test_answers_are_held_and_shown_in_the_bookings_admin_output(
    anon_client, admin_client, catalogue, asked
):
    answers = {
        str(asked["side"].pk): "Right",
        str(asked["consent"].pk): True,
        str(asked["born"].pk): "1990-05-17",
    }

    created = _hold(anon_client, catalogue, answers)
    read = admin_client.get(f"/api/v1/admin/bookings/{created.json()['id']}")

    assert created.status_code == 201, created.content
    assert "answers" not in created.json()  # the user surface carries no personal data
    assert read.json()["answers"] == [
        {"question": str(asked["side"].pk), "label": "Which side?",
         "kind": "single_choice", "value": "Right"},
        {"question": str(asked["consent"].pk), "label": "I agree",
         "kind": "checkbox", "value": True},
        {"question": str(asked["born"].pk), "label": "Date of birth",
         "kind": "date", "value": "1990-05-17"},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (None, {"side": "Answer this question.", "consent": "Tick this box to continue."}),
        (
            {"side": "Middle", "consent": "yes", "born": "17/05/1990"},
            {
                "side": "Choose one of the options given.",
                "consent": "Answer true or false.",
                "born": "Enter a date as YYYY-MM-DD.",
            },
        ),
    ],
)
def test_bad_answers_are_400_with_a_detail_per_answer_and_hold_nothing(
    anon_client, catalogue, asked, answers, expected
):
    body = None if answers is None else {str(asked[k].pk): v for k, v in answers.items()}

    response = _hold(anon_client, catalogue, body)

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "VALIDATION_ERROR"
    assert {d["field"]: d["message"] for d in error["details"]} == {
        f"answers.{asked[k].pk}": message for k, message in expected.items()
    }
    assert not Booking.objects.exists() and not Customer.objects.exists()


def test_an_unknown_question_or_answers_not_an_object_are_400(anon_client, catalogue, asked):
    valid = {str(asked["side"].pk): "Left", str(asked["consent"].pk): True}

    unknown = _hold(anon_client, catalogue, valid | {"nope": "x"}, key="unknown")
    listed = _hold(anon_client, catalogue, ["Left"], key="list")

    assert [d["field"] for d in error_of(unknown)["details"]] == ["answers.nope"]
    assert [d["field"] for d in error_of(listed)["details"]] == ["answers"]
    assert (unknown.status_code, listed.status_code) == (400, 400)
    assert not Booking.objects.exists()


def test_outbound_webhooks_carry_the_answers(anon_client, catalogue, asked):
    webhook_endpoint_create(url="https://crm.example.test/hooks", events=["booking.held"])

    created = _hold(
        anon_client,
        catalogue,
        {str(asked["side"].pk): "Left", str(asked["consent"].pk): True},
    )

    event = WebhookEvent.objects.get(booking_id=created.json()["id"])
    booking = webhook_event_payload(event=event)["data"]["booking"]
    assert [(a["label"], a["value"]) for a in booking["answers"]] == [
        ("Which side?", "Left"),
        ("I agree", True),
    ]


def test_erasing_the_customer_empties_the_answers_in_stored_webhook_bodies(
    anon_client, catalogue, asked
):
    # given a booking whose held event carried the answers to a receiver that echoed them
    webhook_endpoint_create(url="https://crm.example.test/hooks", events=["booking.held"])
    created = _hold(
        anon_client,
        catalogue,
        {
            str(asked["side"].pk): "Left",
            str(asked["consent"].pk): True,
            str(asked["born"].pk): "1987-03-09",
        },
    )
    booking = Booking.objects.get(pk=created.json()["id"])
    event = WebhookEvent.objects.get(booking=booking)
    delivery = event.deliveries.get()
    echoed = WebhookAttempt.objects.create(
        delivery=delivery,
        number=1,
        trigger=WebhookAttempt.Trigger.AUTOMATIC,
        started_at=timezone.now(),
        succeeded=False,
        status_code=422,
        latency_ms=12,
        error="HTTP 422",
        response_excerpt='{"rejected": {"answers": [{"value": "1987-03-09"}]}}',
    )
    assert webhook_event_payload(event=event)["data"]["booking"]["answers"]

    # when the customer is erased
    customer_erase(customer=booking.customer, actor=STAFF, reason="GDPR request #77")

    # then the stored body says no answers, the booking keeps none, and the receiver's
    # echo is gone (its status code and error stay)
    payload = webhook_event_payload(event=WebhookEvent.objects.get(pk=event.pk))
    assert payload["data"]["booking"]["answers"] == []
    assert payload["data"]["booking"]["customer"]["email"] == ""
    booking.refresh_from_db()
    assert (booking.answers_encrypted, booking.answers) == ("", [])
    echoed.refresh_from_db()
    assert (echoed.response_excerpt, echoed.status_code, echoed.error) == ("", 422, "HTTP 422")


def test_the_schema_documents_answers_keyed_by_question_id(anon_client):
    schema = anon_client.get("/api/schema/?format=json").json()

    body = schema["paths"]["/api/v1/bookings"]["post"]["requestBody"]["content"]
    reference = body["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    answers = schema["components"]["schemas"][reference]["properties"]["answers"]
    assert answers["type"] == "object"
    assert "keyed by question id" in answers["description"]
    service = schema["components"]["schemas"]["ServiceOutput"]["properties"]
    assert service["questions"]["type"] == "array"
