"""The OpenAPI document: how credentials appear (loaded by ApiConfig.ready) and how
schema components are named."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "apps.api.authentication.ApiKeyAuthentication"
    name = "apiKey"
    priority = 1

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A business's API key: `Authorization: Bearer tn_…`.",
        }


class StaffJwtScheme(OpenApiAuthenticationExtension):
    target_class = "apps.api.authentication.TenantJWTAuthentication"
    name = "staffJwt"
    priority = 1

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A staff member's access token from POST /api/v1/auth/token.",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "apps.api.authentication.TenantSessionAuthentication"
    name = "dashboardSession"
    priority = 1

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "The dashboard's session (send X-CSRFToken on changes).",
        }


class BookingTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apps.api.authentication.BookingTokenAuthentication"
    name = "bookingToken"
    priority = 1

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Booking-Token",
            "description": "The token a hold answered; valid for that booking only.",
        }


class ApiAutoSchema(AutoSchema):
    """Names the nested Input/Output serializers of views after their view
    (`BookingCreateApi.InputSerializer` → `BookingCreateInput`): every view has an
    `InputSerializer`, and the document needs one distinct name per shape."""

    def get_serializer_name(self, serializer: Any, direction: Any) -> str:
        name: str = super().get_serializer_name(serializer, direction)
        serializer_class = serializer if isinstance(serializer, type) else type(serializer)
        outer, dot, _ = serializer_class.__qualname__.rpartition(".")
        if dot and "<locals>" not in outer and not name.startswith(outer):
            prefix = outer.removesuffix("Api").split(".")[-1]
            return f"{prefix}{name}"
        return name
