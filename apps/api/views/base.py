"""What every API view shares: the caller, validated input, and the error responses
the OpenAPI document lists for each operation."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TypeVar

from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.api.errors import MfaRequired
from apps.api.permissions import principal_of
from apps.api.principals import Principal
from apps.api.serializers import ErrorEnvelopeSerializer
from apps.core.entitlements import tenant_active_require
from apps.core.errors import FieldError, NotFound, ValidationFailed

_T = TypeVar("_T")

# Statuses any operation may answer (bad input, credentials, role, unknown id, limits).
COMMON_ERRORS = (400, 401, 402, 403, 404, 405, 406, 429)
BODY_ERRORS = (415,)


def error_responses(*statuses: int) -> dict[int, type[ErrorEnvelopeSerializer]]:
    return dict.fromkeys(sorted({*COMMON_ERRORS, *statuses}), ErrorEnvelopeSerializer)


def _raise_if_mfa_pending(request: Request) -> None:
    """A dashboard session that has not passed its second factor is told so, rather than
    that it is not signed in (apps.api.authentication.TenantSessionAuthentication)."""
    if getattr(request._request, "mfa_pending", False):
        raise MfaRequired(_("Pass two-step sign-in in the dashboard first."))


class ApiView(APIView):
    # Anonymous writes count against this rate bucket (apps/api/throttles.py).
    anonymous_write_scope = "anon_booking"

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # A suspended business's API is off (402 PLAN_INACTIVE); its data stays.
        tenant_active_require()

    def principal(self, request: Request) -> Principal:
        principal = principal_of(request)
        if principal is None:
            _raise_if_mfa_pending(request)
            raise NotAuthenticated()
        return principal

    def permission_denied(
        self, request: Request, message: str | None = None, code: str | None = None
    ) -> NoReturn:
        if principal_of(request) is None:
            _raise_if_mfa_pending(request)
        super().permission_denied(request, message, code)

    @staticmethod
    def validated(
        serializer_class: type[serializers.Serializer],
        data: Any,
        *,
        partial: bool = False,
        context: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        if partial and not isinstance(data, Mapping):
            raise ValidationFailed(
                _("The request is not valid."), [FieldError("", _("Send a JSON object."))]
            )
        serializer = serializer_class(data=data, partial=partial, context=dict(context or {}))
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def query(
        self, request: Request, serializer_class: type[serializers.Serializer]
    ) -> dict[str, Any]:
        return self.validated(serializer_class, request.query_params)


def reference(field: str, lookup: Callable[[], _T]) -> _T:
    """An object a request names by id: an unknown id is bad input (400 naming the
    field), not a missing page."""
    try:
        return lookup()
    except NotFound as exc:
        raise ValidationFailed(exc.message, [FieldError(field, exc.message)]) from exc
