"""Staff JWTs: sign in, refresh (rotating), log out.

These endpoints hand out credentials, so they take no Idempotency-Key: a replayed
answer would have to keep tokens at rest. They are rate limited per client IP (`auth`).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.selectors import tenant_current
from apps.api.staff_tokens import staff_token_issue, staff_token_refresh, staff_token_revoke
from apps.api.views.base import BODY_ERRORS, ApiView, error_responses


class _TokenPairOutput(serializers.Serializer):
    access = serializers.CharField(help_text="Bearer token, valid 15 minutes.")
    refresh = serializers.CharField(
        help_text="Valid 7 days, never past 7 days after the sign-in however often it is "
        "refreshed; each refresh replaces it."
    )


class _RefreshInput(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096)


class _AuthApi(ApiView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    anonymous_write_scope = "auth"


class TokenObtainApi(_AuthApi):
    class InputSerializer(serializers.Serializer):
        email = serializers.CharField(max_length=254)
        password = serializers.CharField(max_length=512, trim_whitespace=False)
        otp = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=16,
            help_text="Current authenticator code; required for admins and for anyone "
            "who set up an authenticator.",
        )

    @extend_schema(
        operation_id="auth_token",
        tags=["Auth"],
        auth=[],
        request=InputSerializer,
        responses={200: _TokenPairOutput, **error_responses(*BODY_ERRORS)},
        description="Tokens for a member of this business (valid only on its domain).",
    )
    def post(self, request: Request) -> Response:
        data = self.validated(self.InputSerializer, request.data)
        pair = staff_token_issue(
            tenant=tenant_current(),
            email=data["email"],
            password=data["password"],
            otp=data.get("otp", ""),
            request=request._request,
        )
        return Response({"access": pair.access, "refresh": pair.refresh})


class TokenRefreshApi(_AuthApi):
    @extend_schema(
        operation_id="auth_refresh",
        tags=["Auth"],
        auth=[],
        request=_RefreshInput,
        responses={200: _TokenPairOutput, **error_responses(*BODY_ERRORS)},
        description="A new token pair; the refresh token sent can no longer be used. The "
        "sign-in's rules apply again: 401 MFA_REQUIRED when signing in now would need a "
        "second factor this sign-in did not give (e.g. after becoming admin); 401 "
        "UNAUTHENTICATED once the sign-in is older than the longest a sign-in lasts.",
    )
    def post(self, request: Request) -> Response:
        data = self.validated(_RefreshInput, request.data)
        pair = staff_token_refresh(
            tenant=tenant_current(),
            refresh=data["refresh"],
        )
        return Response({"access": pair.access, "refresh": pair.refresh})


class LogoutApi(_AuthApi):
    @extend_schema(
        operation_id="auth_logout",
        tags=["Auth"],
        auth=[],
        request=_RefreshInput,
        responses={204: None, **error_responses(*BODY_ERRORS)},
        description="Blacklists the refresh token (access tokens lapse within 15 minutes).",
    )
    def post(self, request: Request) -> Response:
        data = self.validated(_RefreshInput, request.data)
        staff_token_revoke(
            tenant=tenant_current(),
            refresh=data["refresh"],
        )
        return Response(status=204)
