"""The API on the root domain (mounted under /api/ by config/urls_public.py): the public
directory, its OpenAPI document and docs. Everything else there is an enveloped 404."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.api.views.directory import (
    DirectoryProviderReviewsApi,
    DirectoryProvidersApi,
    PublicApiNotFound,
)

v1_patterns: list[URLPattern | URLResolver] = [
    path("directory/providers", DirectoryProvidersApi.as_view(), name="directory-providers"),
    path(
        "directory/providers/<uuid:provider_id>/reviews",
        DirectoryProviderReviewsApi.as_view(),
        name="directory-provider-reviews",
    ),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("v1/", include((v1_patterns, "v1"))),
    # The root domain's own document: only the operations served here.
    path("schema/", SpectacularAPIView.as_view(urlconf="config.urls_public"), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    re_path(r"^[\s\S]*$", PublicApiNotFound.as_view(), name="not-found"),
]
