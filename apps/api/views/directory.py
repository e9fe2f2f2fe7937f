"""The public directory on the root domain: `GET /api/v1/directory/providers`.

Anonymous (no API key: the directory spans businesses), throttled per client address in
the `anon_read` bucket like every public read, errors in the one envelope. Parameters
are checked by `apps.directory.search.directory_query_parse`, as the `/find/` page does.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.serializers import paginated
from apps.api.views.base import error_responses
from apps.directory.search import SORTS, directory_query_parse, directory_search


class ProviderServiceOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    currency = serializers.CharField()
    url = serializers.CharField(help_text="The booking page with this provider preselected.")


class ProviderOutput(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    name = serializers.CharField()
    business_name = serializers.CharField()
    description = serializers.CharField()
    specializations = serializers.ListField(child=serializers.CharField())
    languages = serializers.ListField(child=serializers.CharField())
    address = serializers.CharField()
    latitude = serializers.FloatField(allow_null=True)
    longitude = serializers.FloatField(allow_null=True)
    distance_km = serializers.FloatField(allow_null=True)
    photo_url = serializers.CharField()
    payment_modes = serializers.ListField(child=serializers.CharField())
    price_min = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    price_max = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    currency = serializers.CharField()
    rating_average = serializers.DecimalField(max_digits=3, decimal_places=2)
    rating_count = serializers.IntegerField()
    next_free_at = serializers.DateTimeField(allow_null=True)
    time_zone = serializers.CharField(help_text="The location's IANA time zone.")
    booking_url = serializers.CharField()
    services = ProviderServiceOutput(many=True)


ProviderPage = paginated(ProviderOutput, "ProviderPage")


def _parameter(name: str, kind: Any, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, kind, location=OpenApiParameter.QUERY, description=description)


PROVIDER_PARAMETERS = [
    _parameter("q", OpenApiTypes.STR, "Words to find (name, specialization, services, text)."),
    _parameter("specialization", OpenApiTypes.STR, "A specialization's slug."),
    _parameter("language", OpenApiTypes.STR, "An ISO 639-1 code the provider speaks."),
    _parameter("near", OpenApiTypes.STR, "`latitude,longitude`; needs `radius_km`."),
    _parameter("radius_km", OpenApiTypes.NUMBER, "Above 0, at most 500; needs `near`."),
    _parameter("min_rating", OpenApiTypes.NUMBER, "0 to 5."),
    _parameter("available_from", OpenApiTypes.DATE, "A free start on or after this day."),
    _parameter("available_to", OpenApiTypes.DATE, "… and on or before this one (≤ 60 days)."),
    OpenApiParameter("sort", OpenApiTypes.STR, enum=list(SORTS), description="Default relevance."),
    _parameter("page", OpenApiTypes.INT, "1-based; a page past the end is a 400."),
    _parameter("per_page", OpenApiTypes.INT, "Default 20, at most 50."),
]


class DirectoryProvidersApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="directory_providers_list",
        tags=["Directory"],
        auth=[],
        parameters=PROVIDER_PARAMETERS,
        responses={200: ProviderPage, **error_responses()},
        description=(
            "Listed people and assets of every business in the public directory (root "
            "domain, no key). Rate limited per client address like other public reads."
        ),
    )
    def get(self, request: Request) -> Response:
        found = directory_search(query=directory_query_parse(request.query_params))
        return Response(
            {
                "data": ProviderOutput(found.results, many=True).data,
                "pagination": {
                    "page": found.page,
                    "per_page": found.per_page,
                    "total": found.total,
                    "total_pages": found.total_pages,
                },
            }
        )


@extend_schema(exclude=True)
class PublicApiNotFound(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    def dispatch_not_found(self, request: Request, *args: Any, **kwargs: Any) -> None:
        raise NotFound("There is no such API endpoint. See /api/docs/.")

    get = post = put = patch = delete = head = options = dispatch_not_found  # type: ignore[assignment]
