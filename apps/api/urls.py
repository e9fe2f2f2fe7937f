"""Routes of the integrator API, mounted on every tenant domain by config/urls_tenant.py:
`/api/v1/…`, the OpenAPI document at `/api/schema/` and its offline docs.

Paths have no trailing slash (PRODUCT.md §5). Other capabilities add their admin routes to
`admin_patterns` (as webhook endpoints and deliveries do) and reuse the
authentication, roles, pagination, Idempotency-Key and error envelope of apps.api.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from apps.api.views import (
    admin_bookings,
    admin_catalogue,
    admin_customers,
    admin_webhooks,
    auth,
    booking_series,
    bookings,
    catalogue,
    waitlist,
)
from apps.api.views.not_found import ApiNotFound

auth_patterns: list[URLPattern | URLResolver] = [
    path("token", auth.TokenObtainApi.as_view(), name="token"),
    path("refresh", auth.TokenRefreshApi.as_view(), name="refresh"),
    path("logout", auth.LogoutApi.as_view(), name="logout"),
]

admin_patterns: list[URLPattern | URLResolver] = [
    path("locations", admin_catalogue.AdminLocationListApi.as_view(), name="locations"),
    path(
        "locations/<uuid:location_id>",
        admin_catalogue.AdminLocationDetailApi.as_view(),
        name="location",
    ),
    path("resources", admin_catalogue.AdminResourceListApi.as_view(), name="resources"),
    path(
        "resources/<uuid:resource_id>",
        admin_catalogue.AdminResourceDetailApi.as_view(),
        name="resource",
    ),
    path("services", admin_catalogue.AdminServiceListApi.as_view(), name="services"),
    path(
        "services/<uuid:service_id>",
        admin_catalogue.AdminServiceDetailApi.as_view(),
        name="service",
    ),
    path(
        "availability-rules",
        admin_catalogue.AdminRuleListApi.as_view(),
        name="availability-rules",
    ),
    path(
        "availability-rules/<uuid:rule_id>",
        admin_catalogue.AdminRuleDetailApi.as_view(),
        name="availability-rule",
    ),
    path("slots/generate", admin_catalogue.SlotsGenerateApi.as_view(), name="slots-generate"),
    path("bookings", admin_bookings.AdminBookingListApi.as_view(), name="bookings"),
    path(
        "bookings/<uuid:booking_id>",
        admin_bookings.AdminBookingDetailApi.as_view(),
        name="booking",
    ),
    path(
        "customers/<uuid:customer_id>/export",
        admin_customers.AdminCustomerExportApi.as_view(),
        name="customer-export",
    ),
    path(
        "customers/<uuid:customer_id>/erase",
        admin_customers.AdminCustomerEraseApi.as_view(),
        name="customer-erase",
    ),
    path("api-keys", admin_bookings.AdminApiKeyListApi.as_view(), name="api-keys"),
    path("api-keys/<uuid:key_id>", admin_bookings.AdminApiKeyDetailApi.as_view(), name="api-key"),
    path(
        "webhook-endpoints",
        admin_webhooks.AdminWebhookEndpointListApi.as_view(),
        name="webhook-endpoints",
    ),
    path(
        "webhook-endpoints/<uuid:endpoint_id>",
        admin_webhooks.AdminWebhookEndpointDetailApi.as_view(),
        name="webhook-endpoint",
    ),
    path(
        "webhook-endpoints/<uuid:endpoint_id>/rotate-secret",
        admin_webhooks.AdminWebhookEndpointRotateSecretApi.as_view(),
        name="webhook-endpoint-rotate-secret",
    ),
    path(
        "webhook-endpoints/<uuid:endpoint_id>/ping",
        admin_webhooks.AdminWebhookEndpointPingApi.as_view(),
        name="webhook-endpoint-ping",
    ),
    path(
        "webhook-deliveries",
        admin_webhooks.AdminWebhookDeliveryListApi.as_view(),
        name="webhook-deliveries",
    ),
    path(
        "webhook-deliveries/<uuid:delivery_id>",
        admin_webhooks.AdminWebhookDeliveryDetailApi.as_view(),
        name="webhook-delivery",
    ),
    path(
        "webhook-deliveries/<uuid:delivery_id>/replay",
        admin_webhooks.AdminWebhookDeliveryReplayApi.as_view(),
        name="webhook-delivery-replay",
    ),
]

v1_patterns: list[URLPattern | URLResolver] = [
    path("auth/", include((auth_patterns, "auth"))),
    path("services", catalogue.ServiceListApi.as_view(), name="services"),
    path("resources", catalogue.ResourceListApi.as_view(), name="resources"),
    path("locations", catalogue.LocationListApi.as_view(), name="locations"),
    path("dates", catalogue.DatesApi.as_view(), name="dates"),
    path("slots", catalogue.SlotsApi.as_view(), name="slots"),
    path("bookings", bookings.BookingCreateApi.as_view(), name="bookings"),
    path(
        "bookings/series",
        booking_series.BookingSeriesCreateApi.as_view(),
        name="booking-series",
    ),
    path("bookings/<uuid:booking_id>", bookings.BookingDetailApi.as_view(), name="booking"),
    path(
        "bookings/<uuid:booking_id>/confirm",
        bookings.BookingConfirmApi.as_view(),
        name="booking-confirm",
    ),
    path(
        "bookings/<uuid:booking_id>/cancel",
        bookings.BookingCancelApi.as_view(),
        name="booking-cancel",
    ),
    path(
        "bookings/<uuid:booking_id>/reschedule",
        bookings.BookingRescheduleApi.as_view(),
        name="booking-reschedule",
    ),
    path("waitlist", waitlist.WaitlistJoinApi.as_view(), name="waitlist"),
    path("waitlist/<uuid:entry_id>", waitlist.WaitlistEntryApi.as_view(), name="waitlist-entry"),
    path("admin/", include((admin_patterns, "admin"))),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("v1/", include((v1_patterns, "v1"))),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script from a URL (`?script`), not
    # inline: the Content-Security-Policy runs no inline script.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
    # Anything else under /api/ is an enveloped 404 (405 for known paths, from DRF); a
    # line break in the path too (`.` would not match it).
    re_path(r"^[\s\S]*$", ApiNotFound.as_view(), name="not-found"),
]
