"""Admin surface: bookings (list with filters, read, change) and API keys."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.selectors import tenant_current
from apps.api.fields import BoundedDateField, InstantField
from apps.api.models import ApiKey
from apps.api.pagination import PAGE_PARAMETERS, paginate
from apps.api.permissions import role_required
from apps.api.principals import ADMIN, FRONTDESK
from apps.api.replay import idempotency_parameter, idempotent_response
from apps.api.selectors import api_key_get, api_key_list
from apps.api.serializers import AdminBookingOutput, paginated
from apps.api.services import api_key_create, api_key_revoke
from apps.api.views.base import BODY_ERRORS, ApiView, error_responses
from apps.api.views.bookings import booking_place
from apps.bookings.models import Booking
from apps.bookings.selectors import booking_get, booking_list
from apps.bookings.series import booking_or_series_confirm
from apps.bookings.services import (
    booking_cancel,
    booking_mark_completed,
    booking_mark_no_show,
    booking_reschedule,
)
from apps.calendars.timezones import local_day_start, zone
from apps.core.errors import FieldError, ValidationFailed

BookingRole = role_required(write=FRONTDESK)
KeyRole = role_required(write=ADMIN, read=ADMIN)
CHANGE_ERRORS = error_responses(409, 422, *BODY_ERRORS)


class AdminBookingListApi(ApiView):
    permission_classes = [BookingRole]

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=Booking.Status.choices, required=False)
        resource = serializers.UUIDField(required=False)
        service = serializers.UUIDField(required=False)
        to = BoundedDateField(
            required=False, help_text="Bookings starting on or before this date (inclusive)."
        )
        customer_email = serializers.CharField(required=False, max_length=254)

    FilterSerializer._declared_fields["from"] = BoundedDateField(
        required=False, help_text="Bookings starting on or after this date."
    )

    @extend_schema(
        operation_id="admin_bookings_list",
        tags=["Admin: bookings"],
        parameters=[FilterSerializer, *PAGE_PARAMETERS],
        responses={200: paginated(AdminBookingOutput, "AdminBookingPage"), **error_responses()},
        description="Bookings in start order. Dates are the business's local dates.",
    )
    def get(self, request: Request) -> Response:
        filters = self.query(request, self.FilterSerializer)
        tz = zone(tenant_current().timezone)
        bookings = booking_list(
            status=filters.get("status"),
            resource_id=filters.get("resource"),
            customer_email=filters.get("customer_email"),
            starts_from=local_day_start(filters["from"], tz) if "from" in filters else None,
            starts_before=local_day_start(filters["to"] + dt.timedelta(days=1), tz)
            if "to" in filters
            else None,
        )
        if "service" in filters:
            bookings = bookings.filter(service_id=filters["service"])
        # Payments in one query for the page (amounts and the open checkout).
        bookings = bookings.select_related("resource__location").prefetch_related("payments")
        return Response(
            paginate(bookings, params=request.query_params, serializer=AdminBookingOutput)
        )


class AdminBookingDetailApi(ApiView):
    permission_classes = [BookingRole]

    class InputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(
            choices=[
                Booking.Status.CONFIRMED,
                Booking.Status.CANCELLED,
                Booking.Status.COMPLETED,
                Booking.Status.NO_SHOW,
            ],
            required=False,
        )
        slot = serializers.UUIDField(required=False, help_text="Move to this slot.")
        resource = serializers.UUIDField(required=False, help_text="Move to this resource.")
        start = InstantField(required=False, help_text="Move to this start.")
        reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)
        override_window = serializers.BooleanField(
            required=False, help_text="Cancel inside the cancellation window (give a reason)."
        )

    @extend_schema(
        operation_id="admin_bookings_retrieve",
        tags=["Admin: bookings"],
        responses={200: AdminBookingOutput, **error_responses()},
    )
    def get(self, request: Request, booking_id: UUID) -> Response:
        return Response(AdminBookingOutput(booking_get(booking_id=booking_id)).data)

    @extend_schema(
        operation_id="admin_bookings_update",
        tags=["Admin: bookings"],
        request=InputSerializer,
        parameters=[idempotency_parameter(required=False)],
        responses={200: AdminBookingOutput, **CHANGE_ERRORS},
        description="One change per request: a new `status` (confirmed, cancelled with an "
        "optional `reason`, completed, no_show), or a move (`slot`, or `start` and/or "
        "`resource`).",
    )
    def patch(self, request: Request, booking_id: UUID) -> Any:
        booking = booking_get(booking_id=booking_id)
        actor = self.principal(request).actor

        def change() -> tuple[int, Any]:
            data = self.validated(self.InputSerializer, request.data, partial=True)
            moves = {"slot", "start", "resource"} & data.keys()
            status = data.get("status")
            if status and moves:
                raise ValidationFailed(
                    _("Change the status or the time, not both at once."),
                    [FieldError("status", _("Change the status or the time, not both at once."))],
                )
            if status == Booking.Status.CONFIRMED:
                # A held date of a series is confirmed with every date of it.
                changed = booking_or_series_confirm(booking=booking, actor=actor)
            elif status == Booking.Status.CANCELLED:
                changed = booking_cancel(
                    booking=booking,
                    actor=actor,
                    reason=data.get("reason", ""),
                    override_window=data.get("override_window", False),
                )
            elif status == Booking.Status.COMPLETED:
                changed = booking_mark_completed(booking=booking, actor=actor)
            elif status == Booking.Status.NO_SHOW:
                changed = booking_mark_no_show(booking=booking, actor=actor)
            elif moves:
                resource, starts_at = booking_place(
                    slot=data.get("slot"),
                    resource=data.get("resource"),
                    start=data.get("start", booking.starts_at if "slot" not in data else None),
                )
                changed = booking_reschedule(
                    booking=booking, starts_at=starts_at, resource=resource, actor=actor
                )
            else:
                raise ValidationFailed(
                    _("Nothing to change."),
                    [FieldError("", _("Give a new status, or a slot / start / resource."))],
                )
            return 200, AdminBookingOutput(booking_get(booking_id=changed.pk)).data

        return idempotent_response(request, actor=actor, perform=change)


# --- API keys ----------------------------------------------------------------------


class ApiKeyOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The key's visible start, to tell keys apart.")
    role = serializers.ChoiceField(choices=ApiKey.Role.choices)
    created_at = InstantField()
    last_used_at = InstantField(allow_null=True)
    revoked_at = InstantField(allow_null=True)


class CreatedApiKeyOutput(ApiKeyOutput):
    key = serializers.CharField(help_text="The full key. Shown once: store it now.")


class AdminApiKeyListApi(ApiView):
    permission_classes = [KeyRole]

    class FilterSerializer(serializers.Serializer):
        include_revoked = serializers.BooleanField(required=False, default=False)

    class InputSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=ApiKey.Role.choices)
        name = serializers.CharField(required=False, allow_blank=True, max_length=120)

    @extend_schema(
        operation_id="admin_api_keys_list",
        tags=["Admin: API keys"],
        parameters=[FilterSerializer, *PAGE_PARAMETERS],
        responses={200: paginated(ApiKeyOutput, "ApiKeyPage"), **error_responses()},
    )
    def get(self, request: Request) -> Response:
        filters = self.query(request, self.FilterSerializer)
        keys = api_key_list(include_revoked=filters["include_revoked"])
        return Response(paginate(keys, params=request.query_params, serializer=ApiKeyOutput))

    @extend_schema(
        operation_id="admin_api_keys_create",
        tags=["Admin: API keys"],
        request=InputSerializer,
        parameters=[idempotency_parameter(required=False)],
        responses={201: CreatedApiKeyOutput, **error_responses(422, *BODY_ERRORS)},
        description="The full key is in this answer only (it is stored hashed). A retry "
        "with the same Idempotency-Key within 24 h gets the same answer, key included, "
        "instead of a second key.",
    )
    def post(self, request: Request) -> Any:
        principal = self.principal(request)

        def create() -> tuple[int, Any]:
            data = self.validated(self.InputSerializer, request.data)
            key, secret = api_key_create(
                role=data["role"], name=data.get("name", ""), created_by=principal.user
            )
            return 201, {**ApiKeyOutput(key).data, "key": secret}

        return idempotent_response(request, actor=principal.actor, perform=create)


class AdminApiKeyDetailApi(ApiView):
    permission_classes = [KeyRole]

    @extend_schema(
        operation_id="admin_api_keys_revoke",
        tags=["Admin: API keys"],
        parameters=[idempotency_parameter(required=False)],
        responses={204: None, **error_responses(422)},
        description="Revokes the key at once; revoking it again changes nothing.",
    )
    def delete(self, request: Request, key_id: UUID) -> Any:
        key = api_key_get(key_id=key_id)

        def revoke() -> tuple[int, Any]:
            api_key_revoke(api_key=key)
            return 204, None

        return idempotent_response(request, actor=self.principal(request).actor, perform=revoke)
