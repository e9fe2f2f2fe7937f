"""Output shapes several views share, and the shapes of the OpenAPI document (error
envelope, pagination). Field names are part of the contract (PRODUCT.md §5). Input
serializers live with their view (one Input per operation)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.api.fields import InstantField
from apps.bookings.models import Booking
from apps.bookings.payments import payment_checkout_current, payment_totals
from apps.bookings.series import series_offered_to_customers
from apps.calendars.models import AvailabilityRule
from apps.calendars.timezones import format_wall_time
from apps.core.languages import language_codes
from apps.resources.intake import questions_of
from apps.resources.models import IntakeQuestion

# --- Inputs several operations share ----------------------------------------------


@extend_schema_field({"type": "string", "enum": list(language_codes())})
class LanguageField(serializers.CharField):
    """A language code of settings.LANGUAGES (an enum in the OpenAPI document). The
    services check it and refuse any other, naming the codes there are (400, the
    field's name)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 16)
        super().__init__(**kwargs)


# --- Envelopes ---------------------------------------------------------------------


class ErrorDetailSerializer(serializers.Serializer):
    field = serializers.CharField(help_text='The field at fault (dotted path; "" = the request).')
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, e.g. VALIDATION_ERROR, SLOT_FULL.")
    message = serializers.CharField()
    details = ErrorDetailSerializer(many=True)
    request_id = serializers.CharField(help_text="Also in the X-Request-Id header.")


class ErrorEnvelopeSerializer(serializers.Serializer):
    error = ErrorSerializer()


class PaginationSerializer(serializers.Serializer):
    page = serializers.IntegerField(min_value=1)
    per_page = serializers.IntegerField(min_value=1)
    total = serializers.IntegerField(min_value=0)
    total_pages = serializers.IntegerField(min_value=0)


def paginated(item: type[serializers.Serializer], name: str) -> type[serializers.Serializer]:
    """`{"data": [item…], "pagination": {…}}` as a named schema component."""
    return type(
        name,
        (serializers.Serializer,),
        {"data": item(many=True), "pagination": PaginationSerializer()},
    )


# --- Catalogue ---------------------------------------------------------------------


class LocationOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    address = serializers.CharField()
    timezone = serializers.CharField()


class ResourceOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    kind = serializers.CharField()
    location = serializers.UUIDField(source="location_id")
    tags = serializers.ListField(child=serializers.CharField())


class AdminResourceOutput(ResourceOutput):
    is_active = serializers.BooleanField()
    user = serializers.UUIDField(source="user_id", allow_null=True)


class IntakeQuestionOutput(serializers.Serializer):
    id = serializers.UUIDField(help_text="The key of this question's answer in `answers`.")
    kind = serializers.ChoiceField(
        choices=IntakeQuestion.Kind.choices,
        help_text="short_text and long_text: text (200 / 5,000 characters at most); "
        "single_choice: one of `choices`; multiple_choice: a list of `choices`; checkbox: "
        "true or false; date: YYYY-MM-DD.",
    )
    # Fields named like Field's own attributes: DRF moves declared fields off the class.
    label = serializers.CharField()  # type: ignore[assignment]
    help_text = serializers.CharField()  # type: ignore[assignment]
    required = serializers.BooleanField(  # type: ignore[assignment]
        help_text="A required checkbox must be true (consent); other required questions "
        "must be answered."
    )
    choices = serializers.ListField(child=serializers.CharField())


class AnswerOutput(serializers.Serializer):
    question = serializers.UUIDField(source="question_id")
    label = serializers.CharField(  # type: ignore[assignment]
        help_text="The question as it was asked."
    )
    kind = serializers.ChoiceField(choices=IntakeQuestion.Kind.choices)
    value = serializers.JSONField(
        help_text="Text, a list of texts (multiple_choice), true/false (checkbox) or a "
        "YYYY-MM-DD date."
    )


class ServiceOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    duration_minutes = serializers.IntegerField()
    buffer_before_minutes = serializers.IntegerField()
    buffer_after_minutes = serializers.IntegerField()
    capacity = serializers.IntegerField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    currency = serializers.CharField()
    resources = serializers.SerializerMethodField()
    min_notice_minutes = serializers.IntegerField(allow_null=True)
    horizon_days = serializers.IntegerField(allow_null=True)
    requires_payment = serializers.BooleanField()
    payment_mode = serializers.ChoiceField(
        choices=["none", "full", "deposit"],
        help_text="none: paid at the venue (or free); full or deposit: paid when booking.",
    )
    deposit_amount = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    deposit_percent = serializers.IntegerField(allow_null=True)
    questions = serializers.SerializerMethodField()
    customers_may_repeat = serializers.SerializerMethodField(
        help_text="Customers may book it as a weekly series (POST bookings/series); staff "
        "may book any service so."
    )

    @extend_schema_field(serializers.BooleanField())
    def get_customers_may_repeat(self, service: Any) -> bool:
        return series_offered_to_customers(service)

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_resources(self, service: Any) -> list[str]:
        # Prefetched by the views; sorted so the output is stable.
        return sorted(str(resource.pk) for resource in service.resources.all())

    @extend_schema_field(IntakeQuestionOutput(many=True))
    def get_questions(self, service: Any) -> Any:
        """The intake questions a booking answers in `answers` (POST bookings), in the
        order they are asked."""
        # Prefetched by the list views (`questions_prefetch`); one service's read here.
        return IntakeQuestionOutput(questions_of(service=service), many=True).data


class AdminServiceOutput(ServiceOutput):
    is_active = serializers.BooleanField()


class AvailabilityRuleOutput(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=AvailabilityRule.Kind.choices)
    resource = serializers.UUIDField(source="resource_id", allow_null=True)
    location = serializers.UUIDField(source="location_id", allow_null=True)
    days_of_week = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=7))
    start_time = serializers.SerializerMethodField()
    end_time = serializers.SerializerMethodField()
    valid_from = serializers.DateField(allow_null=True)
    valid_to = serializers.DateField(allow_null=True)
    granularity_minutes = serializers.IntegerField()
    capacity = serializers.IntegerField(allow_null=True)
    is_closed = serializers.BooleanField()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_start_time(self, rule: AvailabilityRule) -> str | None:
        return None if rule.start_minute is None else format_wall_time(rule.start_minute)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_end_time(self, rule: AvailabilityRule) -> str | None:
        return None if rule.end_minute is None else format_wall_time(rule.end_minute)


# --- Bookings ----------------------------------------------------------------------


class BookingOutput(serializers.Serializer):
    """What the customer (booking token) and any caller sees of a booking."""

    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Booking.Status.choices)
    hold_expires_at = InstantField(allow_null=True)
    start = InstantField(source="starts_at")
    end = InstantField(source="ends_at")
    resource = serializers.UUIDField(source="resource_id")
    service = serializers.UUIDField(source="service_id")
    payment_status = serializers.ChoiceField(choices=Booking.PaymentStatus.choices)
    payment_url = serializers.SerializerMethodField()
    amount_paid = serializers.SerializerMethodField()
    amount_refunded = serializers.SerializerMethodField()
    timezone = serializers.CharField(
        source="resource.location.timezone", help_text="The location's time zone."
    )
    language = serializers.CharField(
        help_text="The language of the booking's messages (\"\": the business's)."
    )

    def _money(self, booking: Booking) -> tuple[Decimal, Decimal] | None:
        if booking.payment_status == Booking.PaymentStatus.NOT_REQUIRED:
            return None
        cached = getattr(booking, "_money_totals", None)
        if cached is None:
            cached = payment_totals(booking)
            booking._money_totals = cached  # type: ignore[attr-defined]
        return cached

    @extend_schema_field(serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True))
    def get_amount_paid(self, booking: Booking) -> str | None:
        """Taken online for this booking, in the service's currency (null: not a paid
        booking)."""
        money = self._money(booking)
        return f"{money[0]:.2f}" if money is not None else None

    @extend_schema_field(serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True))
    def get_amount_refunded(self, booking: Booking) -> str | None:
        money = self._money(booking)
        return f"{money[1]:.2f}" if money is not None else None

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_payment_url(self, booking: Booking) -> str | None:
        """The open checkout of a held booking that awaits payment (else null)."""
        if booking.payment_status != Booking.PaymentStatus.PENDING:
            return None
        checkout = payment_checkout_current(booking)
        return checkout.checkout_url if checkout is not None else None


class HeldBookingOutput(BookingOutput):
    token = serializers.CharField(
        help_text="Send it as X-Booking-Token to read, confirm, cancel or reschedule this "
        "booking, until 30 days (BOOKING_LINK_GRACE_DAYS) after it ends. Shown only here."
    )


class CustomerOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()


class AdminBookingOutput(BookingOutput):
    customer = CustomerOutput()
    # A field named like Field.source: DRF moves declared fields off the class.
    source = serializers.ChoiceField(choices=Booking.Source.choices)  # type: ignore[assignment]
    notes = serializers.CharField()
    answers = AnswerOutput(
        many=True, help_text="The answers to the service's intake questions, as asked."
    )
    cancellation_reason = serializers.CharField()
    window_override_reason = serializers.CharField(
        help_text="Why staff booked outside the minimum notice or the horizon."
    )
    sequence = serializers.IntegerField()
    created_at = InstantField()
    updated_at = InstantField()
