"""User surface, bookings: hold, then read / confirm / cancel / reschedule that booking.

A customer needs no account: the hold answers a booking token (X-Booking-Token) that
authorises the later calls on that one booking. API keys and staff reach every booking
of their business by role (reads: any role, changes: frontdesk and up).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any
from uuid import UUID

from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext_noop
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.addresses import tenant_base_url
from apps.accounts.selectors import tenant_current
from apps.api.authentication import (
    ApiKeyAuthentication,
    BookingTokenAuthentication,
    TenantJWTAuthentication,
    TenantSessionAuthentication,
)
from apps.api.fields import InstantField
from apps.api.permissions import CanAccessBooking, principal_of
from apps.api.principals import FRONTDESK, BookingGrant
from apps.api.replay import REPLAYED_HEADER, idempotency_parameter, idempotent_response
from apps.api.selectors import service_and_slot_place_get, slot_place_get
from apps.api.serializers import BookingOutput, HeldBookingOutput, LanguageField
from apps.api.views.base import BODY_ERRORS, ApiView, error_responses, reference
from apps.billing.booking_payments import booking_checkout_url
from apps.billing.stripe_api import PaymentRefused, PaymentsUnavailable
from apps.bookings.access_tokens import booking_access_token
from apps.bookings.actors import ActorRef
from apps.bookings.errors import HoldExpired
from apps.bookings.models import Booking
from apps.bookings.payments import payment_checkout_current
from apps.bookings.selectors import booking_get
from apps.bookings.series import booking_or_series_confirm
from apps.bookings.services import (
    CustomerInput,
    booking_cancel,
    booking_hold,
    booking_reschedule,
)
from apps.core.errors import FieldError, ValidationFailed
from apps.resources.models import Resource, Service
from apps.resources.selectors import resource_get, service_get

logger = logging.getLogger(__name__)

BOOKING_CHANGE_ERRORS = error_responses(409, 422, *BODY_ERRORS)
CUSTOMER_FIELDS = {"name", "email", "phone"}


def booking_place(
    *, slot: UUID | None, resource: UUID | None, start: dt.datetime | None
) -> tuple[Resource | None, dt.datetime]:
    """Where a booking goes: a slot from GET slots, or a resource and a start."""
    if slot is not None:
        if resource is not None or start is not None:
            raise ValidationFailed(
                gettext_noop("Give a slot, or a resource and a start, not both."),
                [
                    FieldError(
                        "slot", gettext_noop("Give a slot, or a resource and a start, not both.")
                    )
                ],
            )
        return reference("slot", lambda: slot_place_get(slot_id=slot))
    if start is None:
        raise ValidationFailed(
            gettext_noop("Say when: give a slot, or a start."),
            [FieldError("start", gettext_noop("Give a slot id, or a start (and a resource)."))],
        )
    found = reference("resource", lambda: resource_get(resource_id=resource)) if resource else None
    return found, start


def _hold_place(data: dict[str, Any]) -> tuple[Service, Resource | None, dt.datetime]:
    """The service and the place a hold names; a slot alone is read with the service in
    one statement (the usual hold), anything else as `booking_place` reads it."""
    slot = data.get("slot")
    if slot is not None and data.get("resource") is None and data.get("start") is None:
        found, place = service_and_slot_place_get(service_id=data["service"], slot_id=slot)
        service = reference("service", lambda: found or service_get(service_id=data["service"]))
        on_slot = reference("slot", lambda: place or slot_place_get(slot_id=slot))
        return service, on_slot[0], on_slot[1]
    service = reference("service", lambda: service_get(service_id=data["service"]))
    resource, starts_at = booking_place(
        slot=slot, resource=data.get("resource"), start=data.get("start")
    )
    return service, resource, starts_at


class _PlaceSerializer(serializers.Serializer):
    slot = serializers.UUIDField(required=False, help_text="An `id` from GET slots.")
    resource = serializers.UUIDField(required=False)
    start = InstantField(required=False, help_text="With `resource`: RFC 3339 with offset.")


class _CustomerSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=150)
    email = serializers.CharField(max_length=254)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=40)


def _customer_fields_nested(error: ValidationFailed) -> ValidationFailed:
    """The booking core names contact fields bare; the API nests them in `customer`."""
    return ValidationFailed(
        error.message,
        [
            FieldError(f"customer.{d.field}" if d.field in CUSTOMER_FIELDS else d.field, d.message)
            for d in error.details
        ],
    )


class BookingCreateApi(ApiView):
    permission_classes = [AllowAny]

    class InputSerializer(_PlaceSerializer):
        service = serializers.UUIDField()
        customer = _CustomerSerializer()
        notes = serializers.CharField(required=False, allow_blank=True, max_length=2000)
        answers = serializers.DictField(
            child=serializers.JSONField(),
            required=False,
            help_text="Answers to the service's intake questions (`questions` in GET "
            "services), keyed by question id: text, a list of choices (multiple_choice), "
            "true/false (checkbox) or YYYY-MM-DD (date). Required questions must be "
            "answered; an unknown id is refused (400, `answers.<question id>`).",
        )
        language = LanguageField(
            required=False,
            help_text="The language of the booking's emails, texts and reminders: en, de, "
            "fr or es (default: the request's Accept-Language, else the business's "
            "language). An unknown code is refused (400, `language`).",
        )

    @extend_schema(
        operation_id="bookings_hold",
        tags=["Bookings"],
        request=InputSerializer,
        parameters=[idempotency_parameter(required=True)],
        responses={201: HeldBookingOutput, **BOOKING_CHANGE_ERRORS},
        description="Holds a place for the business's hold time (default 10 minutes). "
        "Confirm it with POST bookings/{id}/confirm. 409 SLOT_FULL when it is gone.",
    )
    def post(self, request: Request) -> Any:
        principal = principal_of(request)
        actor = principal.actor if principal else ActorRef.customer("", label="api")
        idempotency_key = (request.headers.get("Idempotency-Key") or "").strip()

        def hold() -> tuple[int, Any]:
            data = self.validated(self.InputSerializer, request.data)
            service, resource, starts_at = _hold_place(data)
            if resource is None:
                raise ValidationFailed(
                    gettext_noop("Say which resource: give a slot, or a resource and a start."),
                    [FieldError("resource", gettext_noop("Give a resource with the start."))],
                )
            customer = data["customer"]
            try:
                booking = booking_hold(
                    service=service,
                    resource=resource,
                    starts_at=starts_at,
                    customer=CustomerInput(
                        name=customer["name"],
                        email=customer["email"],
                        phone=customer.get("phone", ""),
                    ),
                    notes=data.get("notes", ""),
                    # Omitted: no answers given (required questions are then refused).
                    answers=data.get("answers", {}),
                    source=Booking.Source.API,
                    actor=actor,
                    idempotency_key=idempotency_key,
                    language=data.get("language", ""),
                    # An error ends the idempotency record's transaction (required key).
                    savepoint=False,
                )
            except ValidationFailed as error:
                raise _customer_fields_nested(error) from error
            output = dict(BookingOutput(booking).data)
            output["token"] = booking_access_token(booking_id=booking.pk, ends_at=booking.ends_at)
            return 201, output

        response = idempotent_response(request, actor=actor, perform=hold, required=True)
        return _with_checkout(response) if response.status_code == 201 else response


class _BookingApi(ApiView):
    """A booking named in the path, reached by role or by its booking token."""

    authentication_classes = [
        ApiKeyAuthentication,
        TenantJWTAuthentication,
        TenantSessionAuthentication,
        BookingTokenAuthentication,
    ]

    def get_permissions(self) -> list[BasePermission]:
        return [CanAccessBooking(write_role=FRONTDESK)]

    def actor(self, request: Request, booking: Booking) -> ActorRef:
        principal = principal_of(request)
        if principal is not None:
            return principal.actor
        assert isinstance(request.auth, BookingGrant)
        return ActorRef.customer(str(booking.customer_id), label="booking token")


class BookingDetailApi(_BookingApi):
    @extend_schema(
        operation_id="bookings_retrieve",
        tags=["Bookings"],
        responses={200: BookingOutput, **error_responses()},
    )
    def get(self, request: Request, booking_id: UUID) -> Response:
        return Response(BookingOutput(booking_get(booking_id=booking_id)).data)


class BookingConfirmApi(_BookingApi):
    @extend_schema(
        operation_id="bookings_confirm",
        tags=["Bookings"],
        request=None,
        parameters=[idempotency_parameter(required=False)],
        responses={200: BookingOutput, **BOOKING_CHANGE_ERRORS},
        description="Turns a live hold into a booking. 409 HOLD_EXPIRED after the hold "
        "time; confirming a confirmed booking changes nothing. A held date of a recurring "
        "series confirms every date of it together, or none.",
    )
    def post(self, request: Request, booking_id: UUID) -> Any:
        booking = booking_get(booking_id=booking_id)
        actor = self.actor(request, booking)

        def confirm() -> tuple[int, Any]:
            # A held date of a series is confirmed with every date of it, or none is.
            confirmed = booking_or_series_confirm(booking=booking, actor=actor)
            return 200, BookingOutput(confirmed).data

        return idempotent_response(request, actor=actor, perform=confirm)


class BookingCancelApi(_BookingApi):
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    @extend_schema(
        operation_id="bookings_cancel",
        tags=["Bookings"],
        request=InputSerializer,
        parameters=[idempotency_parameter(required=False)],
        responses={200: BookingOutput, **BOOKING_CHANGE_ERRORS},
        description="Frees the place. A confirmed booking can be cancelled until the "
        "business's cancellation window (409 TOO_LATE_TO_CANCEL after).",
    )
    def post(self, request: Request, booking_id: UUID) -> Any:
        booking = booking_get(booking_id=booking_id)
        actor = self.actor(request, booking)

        def cancel() -> tuple[int, Any]:
            data = self.validated(self.InputSerializer, request.data or {})
            cancelled = booking_cancel(booking=booking, actor=actor, reason=data.get("reason", ""))
            return 200, BookingOutput(cancelled).data

        return idempotent_response(request, actor=actor, perform=cancel)


class BookingRescheduleApi(_BookingApi):
    class InputSerializer(_PlaceSerializer):
        pass

    @extend_schema(
        operation_id="bookings_reschedule",
        tags=["Bookings"],
        request=InputSerializer,
        parameters=[idempotency_parameter(required=False)],
        responses={200: BookingOutput, **BOOKING_CHANGE_ERRORS},
        description="Moves the booking to another slot (or start, and resource) in one "
        "step: the old place is freed and the new one taken, or nothing changes.",
    )
    def post(self, request: Request, booking_id: UUID) -> Any:
        booking = booking_get(booking_id=booking_id)
        actor = self.actor(request, booking)

        def reschedule() -> tuple[int, Any]:
            data = self.validated(self.InputSerializer, request.data)
            resource, starts_at = booking_place(
                slot=data.get("slot"), resource=data.get("resource"), start=data.get("start")
            )
            moved = booking_reschedule(
                booking=booking, starts_at=starts_at, resource=resource, actor=actor
            )
            return 200, BookingOutput(moved).data

        return idempotent_response(request, actor=actor, perform=reschedule)


def _with_checkout(response: HttpResponse) -> HttpResponse:
    """A paid hold gets its checkout once the hold has committed (Stripe is never called
    while the hold's locks are held); a replay shows the booking's current checkout."""
    data = json.loads(response.content)
    if data.get("payment_status") != Booking.PaymentStatus.PENDING:
        return response
    booking = Booking.objects.select_related("service").get(pk=data["id"])
    if response.get(REPLAYED_HEADER) != "true":
        _checkout_open(booking)
    checkout = payment_checkout_current(booking)
    data["payment_url"] = checkout.checkout_url if checkout is not None else None
    answer = HttpResponse(
        json.dumps(data).encode(), status=response.status_code, content_type="application/json"
    )
    for header in (REPLAYED_HEADER,):
        if header in response:
            answer[header] = response[header]
    return answer


def _checkout_open(booking: Booking) -> None:
    """A paid hold gets its checkout at once (`payment_url`); when the business takes no
    payments online or Stripe is out of reach, the hold stands without one."""
    tenant = tenant_current()
    token = booking_access_token(booking_id=booking.pk, ends_at=booking.ends_at)
    base = tenant_base_url(tenant)
    try:
        booking_checkout_url(
            booking=booking,
            tenant=tenant,
            success_url=base + reverse("booking:booked", args=[token]),
            cancel_url=base + reverse("booking:hold", args=[token]),
        )
    except (PaymentRefused, PaymentsUnavailable, HoldExpired) as error:
        logger.warning(
            "api.checkout_not_opened", extra={"booking_id": str(booking.pk), "code": error.code}
        )
