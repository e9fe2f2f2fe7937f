"""User surface, recurring series: `POST bookings/series` books one booking every N weeks
(apps/bookings/series.py), every occurrence confirmed at once or none.

Who may: anyone for a service that allows customers to repeat it (and is not paid
online), like `POST bookings`; staff signed in (JWT or session) for any service, a paid
one paid at the venue. Each occurrence answers its own booking token, so each is read,
cancelled or rescheduled through the bookings endpoints like any booking.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request

from apps.api.permissions import principal_of
from apps.api.replay import idempotency_parameter, idempotent_response
from apps.api.serializers import HeldBookingOutput, LanguageField
from apps.api.views.base import ApiView, reference
from apps.api.views.bookings import (
    BOOKING_CHANGE_ERRORS,
    _customer_fields_nested,
    _CustomerSerializer,
    _PlaceSerializer,
    booking_place,
)
from apps.bookings.access_tokens import booking_access_token
from apps.bookings.actors import ActorRef
from apps.bookings.models import Booking
from apps.bookings.series import MAX_EVERY_WEEKS, MAX_OCCURRENCES, repeat_rule_clean, series_create
from apps.bookings.services import CustomerInput
from apps.bookings.staff_bookings import StaffPayment
from apps.calendars.timezones import local_date, zone
from apps.core.errors import FieldError, ValidationFailed
from apps.resources.selectors import service_get

_REPEAT_FIELDS = frozenset({"every_weeks", "count", "until"})


def _repeat_fields_nested(error: ValidationFailed) -> ValidationFailed:
    """The series core names the rule's fields bare; the API nests them in `repeat`."""
    return ValidationFailed(
        error.message,
        [
            FieldError(f"repeat.{d.field}" if d.field in _REPEAT_FIELDS else d.field, d.message)
            for d in error.details
        ],
    )


class _RepeatSerializer(serializers.Serializer):
    every_weeks = serializers.IntegerField(
        help_text=f"Every how many weeks: 1 to {MAX_EVERY_WEEKS}."
    )
    count = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text=f"How many dates in all, the first included: 2 to {MAX_OCCURRENCES}. Give "
        "`count` or `until`, not both: a rule that never ends is refused.",
    )
    until = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="The last local date (YYYY-MM-DD) a date may fall on; at most "
        f"{MAX_OCCURRENCES} dates.",
    )


class SeriesOutput(serializers.Serializer):
    id = serializers.UUIDField()
    every_weeks = serializers.IntegerField()
    count = serializers.IntegerField(allow_null=True)
    until = serializers.DateField(allow_null=True)
    local_time = serializers.TimeField(
        format="%H:%M", help_text="The wall time every date keeps, in `timezone`."
    )
    timezone = serializers.CharField()
    bookings = HeldBookingOutput(many=True, help_text="Every date, earliest first.")


class BookingSeriesCreateApi(ApiView):
    permission_classes = [AllowAny]

    class InputSerializer(_PlaceSerializer):
        service = serializers.UUIDField()
        customer = _CustomerSerializer()
        repeat = _RepeatSerializer()
        notes = serializers.CharField(required=False, allow_blank=True, max_length=2000)
        answers = serializers.DictField(
            child=serializers.JSONField(),
            required=False,
            help_text="Answers to the service's intake questions, as for POST bookings; "
            "kept with every date.",
        )
        language = LanguageField(
            required=False,
            help_text="The language of every date's emails, texts and reminders, as for "
            "POST bookings (default: the request's Accept-Language, else the business's).",
        )
        override_reason = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=500,
            help_text="Staff only: why the series' last date lies further ahead than "
            "customers may book a series (SERIES_CUSTOMER_MAX_DAYS_AHEAD, default 365 "
            "days; never past SERIES_MAX_DAYS_AHEAD, default 730), or why its first date "
            "lies outside the booking window. Kept with the first date.",
        )
        payment = serializers.ChoiceField(
            choices=[StaffPayment.AT_VENUE.value],
            required=False,
            help_text="Staff booking a paid service: `at_venue` (a series is never paid "
            "by a link).",
        )

    @extend_schema(
        operation_id="bookings_series_create",
        tags=["Bookings"],
        request=InputSerializer,
        parameters=[idempotency_parameter(required=True)],
        responses={201: SeriesOutput, **BOOKING_CHANGE_ERRORS},
        description="Books the same time every `repeat.every_weeks` weeks, `count` times "
        "or until a date (at most 52), all confirmed at once; the local time stays across "
        "a daylight-saving change. When any date cannot be booked nothing is: 409 "
        'SERIES_CONFLICTS lists each date (`details`, field `occurrences`, "YYYY-MM-DD '
        "HH:MM: reason\" in the location's time). A rule that never ends or gives more "
        "than 52 dates, or whose last date lies further ahead than a series may reach "
        "(customers 365 days by default; staff with `override_reason` 730): 400 on "
        "`repeat.count` / `repeat.until`, and nothing is built or booked.",
    )
    def post(self, request: Request) -> Any:
        principal = principal_of(request)
        actor = principal.actor if principal else ActorRef.customer("", label="api")

        def book() -> tuple[int, Any]:
            data = self.validated(self.InputSerializer, request.data)
            service = reference("service", lambda: service_get(service_id=data["service"]))
            resource, starts_at = booking_place(
                slot=data.get("slot"), resource=data.get("resource"), start=data.get("start")
            )
            if resource is None:
                raise ValidationFailed(
                    _("Say which resource: give a slot, or a resource and a start."),
                    [FieldError("resource", _("Give a resource with the start."))],
                )
            repeat = data["repeat"]
            customer = data["customer"]
            try:
                rule = repeat_rule_clean(
                    every_weeks=repeat["every_weeks"],
                    count=repeat.get("count"),
                    until=repeat.get("until"),
                    first_day=local_date(starts_at, zone(resource.location.timezone)),
                )
            except ValidationFailed as error:
                raise ValidationFailed(
                    error.message,
                    [FieldError(f"repeat.{d.field}", d.message) for d in error.details],
                ) from error
            try:
                series = series_create(
                    service=service,
                    resource=resource,
                    first_starts_at=starts_at,
                    rule=rule,
                    customer=CustomerInput(
                        name=customer["name"],
                        email=customer["email"],
                        phone=customer.get("phone", ""),
                    ),
                    actor=actor,
                    source=Booking.Source.API,
                    payment=data.get("payment", ""),
                    override_reason=data.get("override_reason", ""),
                    notes=data.get("notes", ""),
                    answers=data.get("answers", {}),
                    language=data.get("language", ""),
                )
            except ValidationFailed as error:
                raise _customer_fields_nested(_repeat_fields_nested(error)) from error
            # Payments prefetched: a paid series' dates each show their amounts.
            bookings = list(
                series.occurrences.select_related("resource__location")
                .prefetch_related("payments")
                .order_by("starts_at")
            )
            for booking in bookings:
                booking.token = booking_access_token(  # type: ignore[attr-defined]
                    booking_id=booking.pk, ends_at=booking.ends_at
                )
            series.bookings = bookings  # type: ignore[attr-defined]
            return 201, SeriesOutput(series).data

        return idempotent_response(request, actor=actor, perform=book, required=True)
