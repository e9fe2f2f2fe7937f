"""Admin surface: a customer's personal data, for GDPR requests (apps/bookings/
customer_data.py). Admins only, the export included: it holds every detail of the
person, and erasure cannot be undone. Both are recorded in the model history."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from apps.api.fields import InstantField
from apps.api.permissions import role_required
from apps.api.principals import ADMIN
from apps.api.replay import idempotency_parameter, idempotent_response
from apps.api.views.base import BODY_ERRORS, ApiView, error_responses
from apps.bookings.customer_data import (
    EXPORT_FORMATS,
    REASON_MAX_LENGTH,
    customer_erase,
    customer_export_file,
)
from apps.bookings.selectors import customer_get

CustomerDataRole = role_required(write=ADMIN, read=ADMIN)
TAGS = ["Admin: customers"]


class _FormatNamesTheFile(DefaultContentNegotiation):
    """`?format=` names the export's file format here, not a renderer (DRF's meaning of
    the parameter): every answer that is not the file, errors included, is JSON."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class AdminCustomerExportApi(ApiView):
    permission_classes = [CustomerDataRole]
    content_negotiation_class = _FormatNamesTheFile

    class FilterSerializer(serializers.Serializer):
        format = serializers.ChoiceField(
            choices=list(EXPORT_FORMATS),
            required=False,
            default="json",
            help_text="json: one document; csv: a zip with one CSV file per section.",
        )

    @extend_schema(
        operation_id="admin_customers_export",
        tags=TAGS,
        parameters=[FilterSerializer],
        responses={
            (200, "application/json"): OpenApiResponse(
                OpenApiTypes.OBJECT, description="The customer's data as one document."
            ),
            (200, "application/zip"): OpenApiResponse(
                OpenApiTypes.BINARY, description="One CSV file per section."
            ),
            **error_responses(),
        },
        description="Everything the business holds about the customer, for a GDPR access "
        "request, as a file to download: the customer record, every booking (times, "
        "service, resource, status, the contact given with it, payments, history), the "
        "messages sent about them, the webhook events that carried their details (and "
        "the endpoints they went to) and the model history. Contact details are "
        "decrypted; a value no key can read any more is null and named in "
        "`unreadable`. Each export is recorded in the model history.",
    )
    def get(self, request: Request, customer_id: UUID) -> HttpResponse:
        filters = self.query(request, self.FilterSerializer)
        customer = customer_get(customer_id=customer_id)
        export = customer_export_file(
            customer=customer, actor=self.principal(request).actor, file_format=filters["format"]
        )
        response = HttpResponse(export.content, content_type=export.content_type)
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        response["Cache-Control"] = "no-store"
        return response


class AdminCustomerEraseApi(ApiView):
    permission_classes = [CustomerDataRole]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(
            allow_blank=True,
            trim_whitespace=False,
            help_text=f"Why (e.g. the request's reference), at most {REASON_MAX_LENGTH} "
            "characters. Kept in the audit trail: it may not name the person or give "
            "their contact details.",
        )

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField(source="customer.pk")
        name = serializers.CharField(source="customer.name", help_text="The pseudonym.")
        erased_at = InstantField(source="customer.erased_at")
        bookings_cancelled = serializers.IntegerField(
            help_text="Bookings still to come that this request cancelled."
        )
        already_erased = serializers.BooleanField(
            help_text="true: the customer had been erased before; nothing changed."
        )

    @extend_schema(
        operation_id="admin_customers_erase",
        tags=TAGS,
        request=InputSerializer,
        parameters=[idempotency_parameter(required=False)],
        responses={200: OutputSerializer, **error_responses(409, 422, *BODY_ERRORS)},
        description="Erases the customer's personal data for a GDPR erasure request. Their "
        "held and confirmed bookings still to come are cancelled first (whatever the "
        "cancellation window) and they are told at their address; then their name becomes "
        "a pseudonym and their email, phone and lookup hashes are removed, from the "
        "customer record and from every booking (bookings stay, anonymous), from stored "
        "webhook bodies and message logs. A later booking with the same email makes a new "
        "customer. Recorded in the model history with the reason; erasing an erased "
        "customer changes nothing (`already_erased`).",
    )
    def post(self, request: Request, customer_id: UUID) -> Any:
        customer = customer_get(customer_id=customer_id)
        principal = self.principal(request)

        def erase() -> tuple[int, Any]:
            data = self.validated(self.InputSerializer, request.data)
            outcome = customer_erase(
                customer=customer, actor=principal.actor, reason=data["reason"]
            )
            return 200, self.OutputSerializer(outcome).data

        return idempotent_response(request, actor=principal.actor, perform=erase)
