"""The tenant URLconf, plus the floor every figure is compared with: a bare Django view
answering a small JSON object through the same middleware (tenant lookup included)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path

from config.urls_tenant import urlpatterns as tenant_urlpatterns


def bare_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/bare", bare_json, name="bench-bare"), *tenant_urlpatterns]
