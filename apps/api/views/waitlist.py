"""The waitlist: a customer (or an integrator for one) joins the line for a full time;
freed places are then offered by email and text (apps/waitlist). Staff and keys read the
line (readonly and up) and take people off it (frontdesk and up), as they do bookings."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.selectors import tenant_current
from apps.api.fields import BoundedDateField, InstantField
from apps.api.pagination import PAGE_PARAMETERS, paginate
from apps.api.permissions import principal_of, role_required
from apps.api.principals import FRONTDESK
from apps.api.replay import idempotency_parameter, idempotent_response
from apps.api.serializers import AnswerOutput, paginated
from apps.api.views.base import BODY_ERRORS, ApiView, error_responses, reference
from apps.bookings.actors import ActorRef
from apps.bookings.services import CustomerInput
from apps.calendars.timezones import local_day_bounds, zone
from apps.core.errors import FieldError, ValidationFailed
from apps.resources.selectors import resource_get, service_get
from apps.waitlist.models import WaitlistEntry, WaitlistOffer
from apps.waitlist.selectors import waitlist_entries_list, waitlist_entry_get, waitlist_live_offer
from apps.waitlist.services import waitlist_entry_remove, waitlist_join

# Reads: readonly and up; taking someone off the line: frontdesk and up (as bookings).
WaitlistRole = role_required(write=FRONTDESK)

CUSTOMER_FIELDS = {"name", "email", "phone"}


class _CustomerSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=150)
    email = serializers.CharField(max_length=254)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=40)


class WaitlistEntryOutput(serializers.Serializer):
    id = serializers.UUIDField()
    service = serializers.UUIDField(source="service_id")
    resource = serializers.UUIDField(source="resource_id", allow_null=True)
    earliest = serializers.DateTimeField(source="earliest_at")
    latest = serializers.DateTimeField(source="latest_at")
    status = serializers.ChoiceField(choices=WaitlistEntry.Status.choices)


class _EntryContactOutput(serializers.Serializer):
    """The person waiting, as the admin bookings endpoints show a booking's customer."""

    id = serializers.UUIDField(source="customer_id")
    name = serializers.CharField(source="contact_name")
    email = serializers.CharField()
    phone = serializers.CharField()


class _LiveOfferOutput(serializers.Serializer):
    id = serializers.UUIDField()
    booking = serializers.UUIDField(source="booking_id", help_text="The hold offered.")
    starts_at = InstantField(source="booking.starts_at")
    expires_at = InstantField(help_text="When the hold lapses unless taken.")


class AdminWaitlistEntryOutput(WaitlistEntryOutput):
    customer = _EntryContactOutput(source="*")
    answers = AnswerOutput(
        many=True, help_text="The answers to the service's intake questions, as asked."
    )
    offer = serializers.SerializerMethodField(
        help_text="The live offer (a hold for the person), if any."
    )
    created_at = InstantField(help_text="When the person joined.")

    @extend_schema_field(_LiveOfferOutput(allow_null=True))
    def get_offer(self, entry: WaitlistEntry) -> dict[str, Any] | None:
        offer: WaitlistOffer | None = waitlist_live_offer(entry)
        return dict(_LiveOfferOutput(offer).data) if offer is not None else None


class WaitlistJoinApi(ApiView):
    permission_classes = [AllowAny]

    def get_permissions(self) -> list[BasePermission]:
        # Anyone joins (for themselves or, with a key, a customer); the line is staff's.
        if self.request.method == "POST":
            return [AllowAny()]
        return [WaitlistRole()]

    class FilterSerializer(serializers.Serializer):
        service = serializers.UUIDField(required=False)
        resource = serializers.UUIDField(
            required=False, help_text="Entries for this resource (not those for anyone)."
        )
        date = BoundedDateField(
            required=False,
            help_text="Entries with an acceptable start on this date (the business's).",
        )

    class InputSerializer(serializers.Serializer):
        service = serializers.UUIDField()
        resource = serializers.UUIDField(
            required=False, allow_null=True, help_text="Omitted or null: anyone offering it."
        )
        earliest = InstantField(help_text="The first acceptable start, RFC 3339 with offset.")
        latest = InstantField(help_text="The last acceptable start (at most 14 days later).")
        customer = _CustomerSerializer()
        answers = serializers.DictField(
            child=serializers.JSONField(),
            required=False,
            help_text="Answers to the service's intake questions, keyed by question id, "
            "checked as a booking's (required questions must be answered; 400 "
            "`answers.<question id>`). The offer's hold is made with them.",
        )

    @extend_schema(
        operation_id="waitlist_list",
        tags=["Waitlist"],
        parameters=[FilterSerializer, *PAGE_PARAMETERS],
        responses={
            200: paginated(AdminWaitlistEntryOutput, "WaitlistEntryPage"),
            **error_responses(),
        },
        description="The line (waiting and offered entries), first in line first. "
        "Readonly role and up.",
    )
    def get(self, request: Request) -> Response:
        filters = self.query(request, self.FilterSerializer)
        starts_from = starts_before = None
        if "date" in filters:
            starts_from, starts_before = local_day_bounds(
                filters["date"], zone(tenant_current().timezone)
            )
        entries = waitlist_entries_list(
            service_id=filters.get("service"),
            resource_id=filters.get("resource"),
            starts_from=starts_from,
            starts_before=starts_before,
        )
        return Response(
            paginate(entries, params=request.query_params, serializer=AdminWaitlistEntryOutput)
        )

    @extend_schema(
        operation_id="waitlist_join",
        tags=["Waitlist"],
        request=InputSerializer,
        parameters=[idempotency_parameter(required=False)],
        responses={201: WaitlistEntryOutput, **error_responses(409, *BODY_ERRORS)},
        description="Joins the waitlist for a place of `service` (with `resource`, or "
        "anyone) starting from `earliest` to `latest`. When a place frees, the first "
        "person it suits gets a hold for the business's offer window (15 minutes by "
        "default) and an email (and a text) with a link to take it. 409 "
        "WAITLIST_TIME_FREE when one of those times is free: book it instead; 409 "
        "WAITLIST_ALREADY_WAITING when the customer already waits for some of those times "
        "(the very same times again answer their entry).",
    )
    def post(self, request: Request) -> Any:
        principal = principal_of(request)
        actor = principal.actor if principal else ActorRef.customer("", label="api")

        def join() -> tuple[int, Any]:
            data = self.validated(self.InputSerializer, request.data)
            service = reference("service", lambda: service_get(service_id=data["service"]))
            resource_id = data.get("resource")
            resource = (
                reference("resource", lambda: resource_get(resource_id=resource_id))
                if resource_id
                else None
            )
            customer = data["customer"]
            try:
                entry = waitlist_join(
                    service=service,
                    resource=resource,
                    earliest_at=data["earliest"],
                    latest_at=data["latest"],
                    customer=CustomerInput(
                        name=customer["name"],
                        email=customer["email"],
                        phone=customer.get("phone", ""),
                    ),
                    actor=actor,
                    answers=data.get("answers", {}),
                )
            except ValidationFailed as error:
                raise ValidationFailed(
                    error.message,
                    [
                        FieldError(
                            f"customer.{d.field}" if d.field in CUSTOMER_FIELDS else d.field,
                            d.message,
                        )
                        for d in error.details
                    ],
                ) from error
            return 201, dict(WaitlistEntryOutput(entry).data)

        return idempotent_response(request, actor=actor, perform=join)


class WaitlistEntryApi(ApiView):
    permission_classes = [WaitlistRole]

    @extend_schema(
        operation_id="waitlist_retrieve",
        tags=["Waitlist"],
        responses={200: AdminWaitlistEntryOutput, **error_responses()},
        description="One entry, in the line or not any more. Readonly role and up.",
    )
    def get(self, request: Request, entry_id: UUID) -> Response:
        return Response(AdminWaitlistEntryOutput(waitlist_entry_get(entry_id=entry_id)).data)

    @extend_schema(
        operation_id="waitlist_remove",
        tags=["Waitlist"],
        parameters=[idempotency_parameter(required=False)],
        responses={204: None, **error_responses(422)},
        description="Takes the entry off the line, as staff do from the dashboard: a "
        "live offer's hold stays the customer's until it lapses or they take it. "
        "Removing it again changes nothing. Frontdesk role and up.",
    )
    def delete(self, request: Request, entry_id: UUID) -> Any:
        entry = waitlist_entry_get(entry_id=entry_id)
        actor = self.principal(request).actor

        def remove() -> tuple[int, Any]:
            waitlist_entry_remove(entry=entry, actor=actor)
            return 204, None

        return idempotent_response(request, actor=actor, perform=remove)
