"""The public directory on the root domain: `GET /api/v1/directory/providers` and a
provider's shown reviews, `GET /api/v1/directory/providers/{id}/reviews` (read in that
one business's schema).

Anonymous (no API key: the directory spans businesses), throttled per client address in
the `anon_read` bucket like every public read, errors in the one envelope. Parameters
are checked by `apps.directory.search.directory_query_parse`, as the `/find/` page does.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.pagination import PAGE_PARAMETERS, paginate
from apps.api.serializers import paginated
from apps.api.views.base import error_responses
from apps.directory.search import SORTS, directory_query_parse, directory_search
from apps.reviews.models import Review
from apps.reviews.selectors import directory_provider_tenant, reviews_public


class ProviderServiceOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    currency = serializers.CharField()
    url = serializers.CharField(help_text="The booking page with this provider preselected.")


class ProviderReviewSnippetOutput(serializers.Serializer):
    id = serializers.UUIDField()
    rating = serializers.IntegerField(help_text="1 to 5.")
    comment = serializers.CharField()
    author = serializers.CharField(help_text="First name and initial; empty once erased.")
    service = serializers.CharField()
    month = serializers.CharField(help_text="The month of the visit, YYYY-MM.")
    verified = serializers.BooleanField(help_text="Always true: from a completed booking.")
    reply = serializers.CharField()
    created_at = serializers.DateTimeField()


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
    latest_reviews = ProviderReviewSnippetOutput(
        many=True,
        help_text="The latest shown reviews (at most 3), newest first; comments cut at 280 "
        "characters (whole in the provider's reviews).",
    )
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


class ProviderReviewOutput(serializers.Serializer):
    id = serializers.UUIDField()
    rating = serializers.IntegerField(help_text="1 to 5.")
    comment = serializers.CharField()
    author = serializers.CharField(
        source="author_name", help_text="First name and initial; empty once erased."
    )
    service = serializers.CharField(source="service.name")
    month = serializers.SerializerMethodField(help_text="The month of the visit, YYYY-MM.")
    verified = serializers.SerializerMethodField(
        help_text="Always true: every review comes from a completed booking."
    )
    reply = serializers.CharField(help_text="The business's reply; empty when none.")
    created_at = serializers.DateTimeField()

    def get_month(self, review: Review) -> str:
        return review.visit_month.strftime("%Y-%m")

    def get_verified(self, review: Review) -> bool:
        return True


ProviderReviewPage = paginated(ProviderReviewOutput, "ProviderReviewPage")


class DirectoryProviderReviewsApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="directory_provider_reviews",
        tags=["Directory"],
        auth=[],
        parameters=PAGE_PARAMETERS,
        responses={200: ProviderReviewPage, **error_responses()},
        description=(
            "A provider's shown reviews, newest first (root domain, no key). Hidden "
            "reviews are left out; the average and count are the provider's "
            "`rating_average` and `rating_count`."
        ),
    )
    def get(self, request: Request, provider_id: uuid.UUID) -> Response:
        tenant, resource_id = directory_provider_tenant(provider_id=provider_id)
        with tenant_context(tenant):
            body = paginate(
                reviews_public(resource_id=resource_id),
                params=request.query_params,
                serializer=ProviderReviewOutput,
            )
        return Response(body)


@extend_schema(exclude=True)
class PublicApiNotFound(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    def dispatch_not_found(self, request: Request, *args: Any, **kwargs: Any) -> None:
        raise NotFound(_("There is no such API endpoint. See /api/docs/."))

    get = post = put = patch = delete = head = options = dispatch_not_found  # type: ignore[assignment]
