"""Admin surface: webhook endpoints (create with the secret shown once, read, change,
delete, rotate the secret, send a test ping) and their deliveries (list with filters,
read with every attempt and the payload, replay). Admins only, reads included: the log
holds customer details and the endpoints' configuration."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.fields import InstantField
from apps.api.pagination import PAGE_PARAMETERS, paginate
from apps.api.permissions import role_required
from apps.api.principals import ADMIN
from apps.api.replay import idempotency_parameter, idempotent_response
from apps.api.serializers import paginated
from apps.api.views.base import BODY_ERRORS, ApiView, error_responses
from apps.notifications.webhooks.delivery import USER_AGENT
from apps.notifications.webhooks.models import (
    SUBSCRIBABLE_EVENT_TYPES,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEventType,
)
from apps.notifications.webhooks.payloads import PAYLOAD_VERSION
from apps.notifications.webhooks.selectors import (
    webhook_delivery_attempts,
    webhook_delivery_get,
    webhook_delivery_list,
    webhook_endpoint_get,
    webhook_endpoint_list,
    webhook_event_payload,
)
from apps.notifications.webhooks.services import (
    webhook_delivery_replay,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_ping,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_update,
)
from apps.notifications.webhooks.signing import VERIFICATION_GUIDE

WebhookRole = role_required(write=ADMIN, read=ADMIN)
TAGS = ["Admin: webhooks"]
# 409: a refusal of the domain; 422: an Idempotency-Key reused with another request.
WRITE_ERRORS = error_responses(409, 422, *BODY_ERRORS)
ACTION_ERRORS = error_responses(422)
SUBSCRIBABLE_CHOICES = [(v, WebhookEventType(v).label) for v in SUBSCRIBABLE_EVENT_TYPES]

PAYLOAD_GUIDE = f"""\
**Payload** (version {PAYLOAD_VERSION}): `{{"id", "type", "version", "created_at", "business",
"data"}}`. `id` is the event's UUIDv7, the same on every retry and replay; `type` is one of
`{"`, `".join(SUBSCRIBABLE_EVENT_TYPES)}` (or `webhook.ping` for a test); `data.booking` has
the fields of `GET /api/v1/admin/bookings/{{id}}` as the booking was when the event happened;
`booking.rescheduled` adds `data.previous` with the old `start` and `end`. Requests come
with `User-Agent: {USER_AGENT}` and are not sent to private addresses."""


# --- Shapes --------------------------------------------------------------------------


class WebhookEndpointOutput(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.CharField()
    description = serializers.CharField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=SUBSCRIBABLE_CHOICES))
    active = serializers.BooleanField(source="is_active")
    disabled_at = InstantField(allow_null=True)
    disabled_reason = serializers.SerializerMethodField(
        help_text="`manual` (a person) or `failing` (automatic); null while active."
    )
    failure_streak = serializers.IntegerField(
        help_text="Events in a row whose delivery failed for good (reset by any success)."
    )
    failing_since = InstantField(
        allow_null=True, help_text="First failed attempt since the last success."
    )
    last_success_at = InstantField(allow_null=True)
    last_failure_at = InstantField(allow_null=True)
    secret_hint = serializers.CharField(help_text="The secret's last characters.")
    created_at = InstantField()
    updated_at = InstantField()

    @extend_schema_field(
        serializers.ChoiceField(choices=WebhookEndpoint.DisabledReason.choices, allow_null=True)
    )
    def get_disabled_reason(self, endpoint: WebhookEndpoint) -> str | None:
        return endpoint.disabled_reason or None


class WebhookEndpointWithSecretOutput(WebhookEndpointOutput):
    secret = serializers.CharField(
        help_text="The signing secret (`whsec_...`). Shown only in this answer (and in an "
        "Idempotency-Key replay of it within 24 h): store it now."
    )


class WebhookDeliveryOutput(serializers.Serializer):
    id = serializers.UUIDField()
    endpoint = serializers.UUIDField(source="endpoint_id")
    event = serializers.UUIDField(source="event_id", help_text="The event id (body `id`).")
    event_type = serializers.ChoiceField(choices=WebhookEventType.choices, source="event.type")
    booking = serializers.UUIDField(source="event.booking_id", allow_null=True)
    status = serializers.ChoiceField(choices=WebhookDelivery.Status.choices)
    status_reason = serializers.CharField()
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.SerializerMethodField(
        help_text="When the next attempt is due (pending deliveries only)."
    )
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    delivered_at = InstantField(allow_null=True)
    created_at = InstantField()
    updated_at = InstantField()

    @extend_schema_field(InstantField(allow_null=True))
    def get_next_attempt_at(self, delivery: WebhookDelivery) -> str | None:
        if delivery.status != WebhookDelivery.Status.PENDING:
            return None
        return delivery.next_attempt_at.isoformat()


class WebhookAttemptOutput(serializers.Serializer):
    number = serializers.IntegerField()
    trigger = serializers.ChoiceField(choices=WebhookAttempt.Trigger.choices)
    started_at = InstantField()
    succeeded = serializers.BooleanField()
    status_code = serializers.IntegerField(
        allow_null=True, help_text="Null when no HTTP answer came (refused, timeout...)."
    )
    latency_ms = serializers.IntegerField()
    error = serializers.CharField()
    response_excerpt = serializers.CharField(help_text="The answer's first 1,000 characters.")


class WebhookDeliveryDetailOutput(WebhookDeliveryOutput):
    attempt_log = serializers.SerializerMethodField()
    payload = serializers.SerializerMethodField(help_text="The event body that is sent.")

    @extend_schema_field(WebhookAttemptOutput(many=True))
    def get_attempt_log(self, delivery: WebhookDelivery) -> Any:
        return WebhookAttemptOutput(webhook_delivery_attempts(delivery=delivery), many=True).data

    @extend_schema_field(serializers.DictField())
    def get_payload(self, delivery: WebhookDelivery) -> dict[str, Any]:
        return webhook_event_payload(event=delivery.event)


class _EndpointInput(serializers.Serializer):
    url = serializers.CharField(
        max_length=2000,
        help_text="https:// URL on a public address (no credentials in it).",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=SUBSCRIBABLE_CHOICES),
        allow_empty=False,
        max_length=len(SUBSCRIBABLE_EVENT_TYPES) * 2,
        required=False,
        help_text="Events to receive; every booking event when left out.",
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)


class _EndpointChangeInput(_EndpointInput):
    active = serializers.BooleanField(
        required=False,
        help_text="false disables the endpoint (queued deliveries are cancelled); true "
        "enables it again and clears its failure streak.",
    )


class _EndpointFilter(serializers.Serializer):
    active = serializers.BooleanField(required=False, allow_null=True)


class _DeliveryFilter(serializers.Serializer):
    endpoint = serializers.UUIDField(required=False)
    status = serializers.ChoiceField(choices=WebhookDelivery.Status.choices, required=False)
    event_type = serializers.ChoiceField(choices=WebhookEventType.choices, required=False)
    event = serializers.UUIDField(required=False, help_text="An event id.")
    booking = serializers.UUIDField(required=False)
    created_after = InstantField(required=False, help_text="Created at or after this instant.")
    created_before = InstantField(required=False, help_text="Created before this instant.")


def _endpoint_data(endpoint: WebhookEndpoint, secret: str | None = None) -> dict[str, Any]:
    data = dict(WebhookEndpointOutput(endpoint).data)
    if secret is not None:
        data["secret"] = secret
    return data


# --- Endpoints -----------------------------------------------------------------------


class AdminWebhookEndpointListApi(ApiView):
    permission_classes = [WebhookRole]

    @extend_schema(
        operation_id="admin_webhook_endpoints_list",
        tags=TAGS,
        parameters=[_EndpointFilter, *PAGE_PARAMETERS],
        responses={
            200: paginated(WebhookEndpointOutput, "WebhookEndpointPage"),
            **error_responses(),
        },
    )
    def get(self, request: Request) -> Response:
        filters = self.query(request, _EndpointFilter)
        endpoints = webhook_endpoint_list()
        if filters.get("active") is not None:
            endpoints = endpoints.filter(disabled_at__isnull=filters["active"])
        return Response(
            paginate(endpoints, params=request.query_params, serializer=WebhookEndpointOutput)
        )

    @extend_schema(
        operation_id="admin_webhook_endpoints_create",
        tags=TAGS,
        request=_EndpointInput,
        parameters=[idempotency_parameter(required=False)],
        responses={201: WebhookEndpointWithSecretOutput, **WRITE_ERRORS},
        description="Subscribes a URL to booking events. The answer holds the signing "
        "secret, which is not shown again (rotate it to get a new one). 409 "
        "WEBHOOK_ENDPOINT_LIMIT when the business has the maximum number of endpoints.\n\n"
        + VERIFICATION_GUIDE
        + "\n\n"
        + PAYLOAD_GUIDE,
    )
    def post(self, request: Request) -> Any:
        principal = self.principal(request)

        def create() -> tuple[int, Any]:
            data = self.validated(_EndpointInput, request.data)
            endpoint, secret = webhook_endpoint_create(
                url=data["url"],
                events=data.get("events"),
                description=data.get("description", ""),
                created_by=principal.user,
            )
            return 201, _endpoint_data(endpoint, secret)

        return idempotent_response(request, actor=principal.actor, perform=create)


class AdminWebhookEndpointDetailApi(ApiView):
    permission_classes = [WebhookRole]

    @extend_schema(
        operation_id="admin_webhook_endpoints_retrieve",
        tags=TAGS,
        responses={200: WebhookEndpointOutput, **error_responses()},
    )
    def get(self, request: Request, endpoint_id: UUID) -> Response:
        return Response(_endpoint_data(webhook_endpoint_get(endpoint_id=endpoint_id)))

    @extend_schema(
        operation_id="admin_webhook_endpoints_update",
        tags=TAGS,
        request=_EndpointChangeInput(partial=True),
        parameters=[idempotency_parameter(required=False)],
        responses={200: WebhookEndpointOutput, **error_responses(422, *BODY_ERRORS)},
        description="Changes the fields given.",
    )
    def patch(self, request: Request, endpoint_id: UUID) -> Any:
        endpoint = webhook_endpoint_get(endpoint_id=endpoint_id)

        def update() -> tuple[int, Any]:
            data = self.validated(_EndpointChangeInput, request.data, partial=True)
            changed = webhook_endpoint_update(
                endpoint=endpoint,
                url=data.get("url"),
                events=data.get("events"),
                description=data.get("description"),
                active=data.get("active"),
            )
            return 200, _endpoint_data(changed)

        return idempotent_response(request, actor=self.principal(request).actor, perform=update)

    @extend_schema(
        operation_id="admin_webhook_endpoints_destroy",
        tags=TAGS,
        parameters=[idempotency_parameter(required=False)],
        responses={204: None, **ACTION_ERRORS},
        description="Deletes the endpoint and its delivery log; nothing more is sent to it.",
    )
    def delete(self, request: Request, endpoint_id: UUID) -> Any:
        endpoint = webhook_endpoint_get(endpoint_id=endpoint_id)

        def delete() -> tuple[int, Any]:
            webhook_endpoint_delete(endpoint=endpoint)
            return 204, None

        return idempotent_response(request, actor=self.principal(request).actor, perform=delete)


class AdminWebhookEndpointRotateSecretApi(ApiView):
    permission_classes = [WebhookRole]

    @extend_schema(
        operation_id="admin_webhook_endpoints_rotate_secret",
        tags=TAGS,
        request=None,
        parameters=[idempotency_parameter(required=False)],
        responses={200: WebhookEndpointWithSecretOutput, **ACTION_ERRORS},
        description="Makes a new signing secret and answers it (once). For 24 hours the "
        "requests carry a second `v1=` signature made with the previous secret, so a "
        "receiver can switch over without refusing events. Send an Idempotency-Key: a "
        "retried request then returns the same secret instead of rotating twice.",
    )
    def post(self, request: Request, endpoint_id: UUID) -> Any:
        endpoint = webhook_endpoint_get(endpoint_id=endpoint_id)

        def rotate() -> tuple[int, Any]:
            rotated, secret = webhook_endpoint_rotate_secret(endpoint=endpoint)
            return 200, _endpoint_data(rotated, secret)

        return idempotent_response(request, actor=self.principal(request).actor, perform=rotate)


class AdminWebhookEndpointPingApi(ApiView):
    permission_classes = [WebhookRole]

    @extend_schema(
        operation_id="admin_webhook_endpoints_ping",
        tags=TAGS,
        request=None,
        parameters=[idempotency_parameter(required=False)],
        responses={202: WebhookDeliveryOutput, **ACTION_ERRORS},
        description="Queues a `webhook.ping` event to this endpoint only (also when it is "
        "disabled, to test a fix). One attempt, no retries: read its result with GET "
        "webhook-deliveries/{delivery_id}.",
    )
    def post(self, request: Request, endpoint_id: UUID) -> Any:
        endpoint = webhook_endpoint_get(endpoint_id=endpoint_id)

        def ping() -> tuple[int, Any]:
            return 202, WebhookDeliveryOutput(webhook_endpoint_ping(endpoint=endpoint)).data

        return idempotent_response(request, actor=self.principal(request).actor, perform=ping)


# --- Deliveries ----------------------------------------------------------------------


class AdminWebhookDeliveryListApi(ApiView):
    permission_classes = [WebhookRole]

    @extend_schema(
        operation_id="admin_webhook_deliveries_list",
        tags=TAGS,
        parameters=[_DeliveryFilter, *PAGE_PARAMETERS],
        responses={
            200: paginated(WebhookDeliveryOutput, "WebhookDeliveryPage"),
            **error_responses(),
        },
        description="One delivery per endpoint and event, newest first.",
    )
    def get(self, request: Request) -> Response:
        filters = self.query(request, _DeliveryFilter)
        deliveries = webhook_delivery_list(
            endpoint_id=filters.get("endpoint"),
            status=filters.get("status"),
            event_type=filters.get("event_type"),
            event_id=filters.get("event"),
            booking_id=filters.get("booking"),
            created_from=filters.get("created_after"),
            created_before=filters.get("created_before"),
        )
        return Response(
            paginate(deliveries, params=request.query_params, serializer=WebhookDeliveryOutput)
        )


class AdminWebhookDeliveryDetailApi(ApiView):
    permission_classes = [WebhookRole]

    @extend_schema(
        operation_id="admin_webhook_deliveries_retrieve",
        tags=TAGS,
        responses={200: WebhookDeliveryDetailOutput, **error_responses()},
        description="The delivery with every attempt (status code, latency, error, the "
        "answer's first characters) and the payload it sends.",
    )
    def get(self, request: Request, delivery_id: UUID) -> Response:
        delivery = webhook_delivery_get(delivery_id=delivery_id)
        return Response(WebhookDeliveryDetailOutput(delivery).data)


class AdminWebhookDeliveryReplayApi(ApiView):
    permission_classes = [WebhookRole]

    @extend_schema(
        operation_id="admin_webhook_deliveries_replay",
        tags=TAGS,
        request=None,
        parameters=[idempotency_parameter(required=False)],
        responses={202: WebhookDeliveryOutput, **error_responses(409, 422)},
        description="Sends the event to the endpoint again now: the same body and event "
        "id, one more attempt in the log (a delivery waiting for a retry is sent now). 409 "
        "WEBHOOK_ENDPOINT_DISABLED while the endpoint is disabled, "
        "WEBHOOK_DELIVERY_IN_FLIGHT while it is being sent.",
    )
    def post(self, request: Request, delivery_id: UUID) -> Any:
        delivery = webhook_delivery_get(delivery_id=delivery_id)

        def replay() -> tuple[int, Any]:
            queued = webhook_delivery_replay(delivery_id=delivery.pk)
            return 202, WebhookDeliveryOutput(webhook_delivery_get(delivery_id=queued.pk)).data

        return idempotent_response(request, actor=self.principal(request).actor, perform=replay)
