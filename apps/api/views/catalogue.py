"""User surface, read only: what can be booked, where, and when."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api import fast_reads
from apps.api.fields import BoundedDateField, InstantField
from apps.api.pagination import PAGE_PARAMETERS, paginate
from apps.api.permissions import principal_of
from apps.api.serializers import LocationOutput, ResourceOutput, ServiceOutput, paginated
from apps.api.views.base import ApiView, error_responses
from apps.calendars.availability.selectors import (
    AvailabilityScope,
    Resolve,
    availability_dates_of,
    availability_slots_of,
)
from apps.resources.intake import questions_prefetch
from apps.resources.models import Location, Resource, Service
from apps.resources.selectors import (
    location_get,
    location_list,
    resource_get,
    resource_list,
    service_get,
    service_list,
)

EXPOSURE_HEADER = "X-Exposure-Variant"


class LocationListApi(ApiView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="locations_list",
        tags=["Catalogue"],
        parameters=PAGE_PARAMETERS,
        responses={200: paginated(LocationOutput, "LocationPage"), **error_responses()},
    )
    def get(self, request: Request) -> Response:
        return Response(
            paginate(location_list(), params=request.query_params, serializer=LocationOutput)
        )


class ResourceListApi(ApiView):
    permission_classes = [AllowAny]

    class FilterSerializer(serializers.Serializer):
        service = serializers.UUIDField(required=False)
        location = serializers.UUIDField(required=False)

    @extend_schema(
        operation_id="resources_list",
        tags=["Catalogue"],
        parameters=[FilterSerializer, *PAGE_PARAMETERS],
        responses={200: paginated(ResourceOutput, "ResourcePage"), **error_responses()},
    )
    def get(self, request: Request) -> Response:
        filters = self.query(request, self.FilterSerializer)
        service = service_get(service_id=filters["service"]) if "service" in filters else None
        location = location_get(location_id=filters["location"]) if "location" in filters else None
        resources = resource_list(service=service, location=location)
        return Response(paginate(resources, params=request.query_params, serializer=ResourceOutput))


class ServiceListApi(ApiView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="services_list",
        tags=["Catalogue"],
        parameters=PAGE_PARAMETERS,
        responses={200: paginated(ServiceOutput, "ServicePage"), **error_responses()},
    )
    def get(self, request: Request) -> Response:
        services = service_list().prefetch_related("resources", questions_prefetch())
        return Response(paginate(services, params=request.query_params, serializer=ServiceOutput))


# --- Availability ------------------------------------------------------------------


class _ScopeSerializer(serializers.Serializer):
    service = serializers.UUIDField()
    resource = serializers.UUIDField(required=False)
    location = serializers.UUIDField(required=False)
    tz = serializers.CharField(
        required=False,
        max_length=64,
        help_text="IANA zone to show times in (default: the location's).",
    )


def _scope(filters: dict[str, Any]) -> tuple[AvailabilityScope, Resolve]:
    """The service and the resource or location a query names, by id, and how to fetch
    them (404 for unknown ids) when no cached answer saves the lookups."""

    def resolve() -> tuple[Service, Resource | None, Location | None]:
        resource: Resource | None = None
        location: Location | None = None
        if "resource" in filters:
            resource = resource_get(resource_id=filters["resource"])
        if "location" in filters:
            location = location_get(location_id=filters["location"])
        return service_get(service_id=filters["service"]), resource, location

    scope = AvailabilityScope(
        service_id=filters["service"],
        resource_id=filters.get("resource"),
        location_id=filters.get("location"),
    )
    return scope, resolve


def _viewer_key(request: Request) -> str:
    """Who sees a curated pick: the API key or person, else the session, else the IP."""
    principal = principal_of(request)
    if principal is not None:
        return principal.actor.key
    session_key = request.COOKIES.get("sessionid")
    if session_key:
        return f"session:{session_key[:64]}"
    return f"ip:{request.META.get('REMOTE_ADDR', '')}"


class DatesApi(ApiView):
    permission_classes = [AllowAny]

    class FilterSerializer(_ScopeSerializer):
        # `from` is a Python keyword: declared below.
        to = BoundedDateField()

    FilterSerializer._declared_fields["from"] = BoundedDateField()

    class OutputSerializer(serializers.Serializer):
        dates = inline_serializer(
            "DateAvailability",
            fields={
                "date": serializers.DateField(),
                "free": serializers.IntegerField(min_value=0, help_text="Free starts that day."),
            },
            many=True,
        )
        timezone = serializers.CharField(help_text="The location's time zone.")
        display_timezone = serializers.CharField(help_text="The zone dates are counted in.")

    @extend_schema(
        operation_id="dates_list",
        tags=["Availability"],
        parameters=[FilterSerializer],
        responses={200: OutputSerializer, **error_responses()},
        description="Dates from `from` to `to` (inclusive, at most 92 days) with the number "
        "of free starts of the service on each.",
    )
    def get(self, request: Request) -> Response:
        filters = self.query(request, self.FilterSerializer)
        scope, resolve = _scope(filters)
        result = availability_dates_of(
            scope=scope,
            resolve=resolve,
            start=filters["from"],
            end=filters["to"],
            tz=filters.get("tz") or None,
        )
        # The same body as the fast way's (apps/api/fast_reads.py).
        return Response(fast_reads.dates_body(result))


class SlotsApi(ApiView):
    permission_classes = [AllowAny]

    class FilterSerializer(_ScopeSerializer):
        date = BoundedDateField(help_text="A calendar day in `tz`.")

    class OutputSerializer(serializers.Serializer):
        slots = inline_serializer(
            "AvailableSlot",
            fields={
                "id": serializers.UUIDField(help_text="Book it with `slot`."),
                "start": InstantField(),
                "end": InstantField(),
                "resource": serializers.UUIDField(),
                "remaining": serializers.IntegerField(min_value=1),
            },
            many=True,
        )
        total = serializers.IntegerField(min_value=0, help_text="Every free start that day.")
        has_more = serializers.BooleanField(help_text="More starts exist than are shown.")
        timezone = serializers.CharField(help_text="The location's time zone.")

    @extend_schema(
        operation_id="slots_list",
        tags=["Availability"],
        parameters=[
            FilterSerializer,
            OpenApiParameter(
                EXPOSURE_HEADER,
                OpenApiTypes.STR,
                location=OpenApiParameter.HEADER,
                enum=["all", "curated"],
                description="Overrides the business's slot exposure mode.",
            ),
        ],
        responses={200: OutputSerializer, **error_responses()},
    )
    def get(self, request: Request) -> Response:
        filters = self.query(request, self.FilterSerializer)
        scope, resolve = _scope(filters)
        result = availability_slots_of(
            scope=scope,
            resolve=resolve,
            tz=filters.get("tz") or None,
            day=filters["date"],
            viewer_key=_viewer_key(request),
            exposure_variant=request.headers.get(EXPOSURE_HEADER) or None,
        )
        return Response(fast_reads.slots_body(result))
