"""Routes of the "API & webhooks" screen, included in the dashboard's namespace by
apps/dashboard/urls.py (names `dashboard:integrations...`)."""

from __future__ import annotations

from django.urls import URLPattern, path

from apps.dashboard.integrations import views

urlpatterns: list[URLPattern] = [
    path("", views.integrations, name="integrations"),
    path("api-keys/", views.api_key_create_view, name="integrations_api_key_create"),
    path(
        "api-keys/<uuid:key_id>/revoke/",
        views.api_key_revoke_view,
        name="integrations_api_key_revoke",
    ),
    path("webhooks/", views.endpoint_create_view, name="integrations_endpoint_create"),
    path("webhooks/<uuid:endpoint_id>/", views.endpoint_detail, name="integrations_endpoint"),
    path(
        "webhooks/<uuid:endpoint_id>/edit/",
        views.endpoint_edit,
        name="integrations_endpoint_edit",
    ),
    path(
        "webhooks/<uuid:endpoint_id>/disable/",
        views.endpoint_disable,
        name="integrations_endpoint_disable",
    ),
    path(
        "webhooks/<uuid:endpoint_id>/enable/",
        views.endpoint_enable,
        name="integrations_endpoint_enable",
    ),
    path(
        "webhooks/<uuid:endpoint_id>/ping/",
        views.endpoint_ping,
        name="integrations_endpoint_ping",
    ),
    path(
        "webhooks/<uuid:endpoint_id>/rotate-secret/",
        views.endpoint_rotate_secret,
        name="integrations_endpoint_rotate",
    ),
    path(
        "webhooks/<uuid:endpoint_id>/delete/",
        views.endpoint_delete,
        name="integrations_endpoint_delete",
    ),
    path(
        "deliveries/<uuid:delivery_id>/",
        views.delivery_detail,
        name="integrations_delivery",
    ),
    path(
        "deliveries/<uuid:delivery_id>/replay/",
        views.delivery_replay,
        name="integrations_delivery_replay",
    ),
]
