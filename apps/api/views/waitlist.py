"""User surface, the waitlist: a customer (or an integrator for one) joins the line for
a full time; freed places are then offered by email and text (apps/waitlist)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request

from apps.api.fields import InstantField
from apps.api.permissions import principal_of
from apps.api.replay import idempotency_parameter, idempotent_response
from apps.api.views.base import BODY_ERRORS, ApiView, error_responses, reference
from apps.bookings.actors import ActorRef
from apps.bookings.services import CustomerInput
from apps.core.errors import FieldError, ValidationFailed
from apps.resources.selectors import resource_get, service_get
from apps.waitlist.models import WaitlistEntry
from apps.waitlist.services import waitlist_join

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


class WaitlistJoinApi(ApiView):
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        service = serializers.UUIDField()
        resource = serializers.UUIDField(
            required=False, allow_null=True, help_text="Omitted or null: anyone offering it."
        )
        earliest = InstantField(help_text="The first acceptable start, RFC 3339 with offset.")
        latest = InstantField(help_text="The last acceptable start (at most 14 days later).")
        customer = _CustomerSerializer()

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
        "WAITLIST_TIME_FREE when one of those times is free: book it instead.",
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
