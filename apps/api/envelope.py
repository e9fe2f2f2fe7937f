"""The one error envelope of the API, for every non-2xx answer under /api/:

    {"error": {"code": "SLOT_FULL", "message": "…", "details": [{"field", "message"}],
               "request_id": "…"}}

Domain errors keep their stable `code` and HTTP status (they are translated here and
nowhere else: the codes stay English, the human `message`s speak the request's language,
its Accept-Language, the services' English messages being the catalogue's msgids); DRF's
own errors (parse errors, authentication, permissions, unknown methods, throttling) get
codes of their own; PostgreSQL or Redis out of reach is 503 SERVICE_UNAVAILABLE with
Retry-After (config/service_unavailable.py answers the same when the failure comes before
the view, in host routing or a middleware); any other unexpected
exception is logged and answered 500 INTERNAL_ERROR without internals.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest
from django.utils.translation import gettext, gettext_noop, ngettext
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from apps.core.errors import DomainError, FieldError
from apps.core.outages import RETRY_AFTER_SECONDS, outage_dependency
from config.request_id import get_request_id

logger = logging.getLogger(__name__)

# DRF's exceptions → (code, message shown when DRF's own is too terse).
_DRF_CODES: list[tuple[type[exceptions.APIException], str, str | None]] = [
    (exceptions.ValidationError, "VALIDATION_ERROR", gettext_noop("The request is not valid.")),
    (exceptions.ParseError, "MALFORMED_REQUEST", None),
    (exceptions.AuthenticationFailed, "UNAUTHENTICATED", None),
    (
        exceptions.NotAuthenticated,
        "UNAUTHENTICATED",
        gettext_noop(
            "Authentication is required: send an API key or a token as `Authorization: Bearer …`."
        ),
    ),
    (exceptions.PermissionDenied, "PERMISSION_DENIED", None),
    (exceptions.NotFound, "NOT_FOUND", None),
    (exceptions.MethodNotAllowed, "METHOD_NOT_ALLOWED", None),
    (exceptions.NotAcceptable, "NOT_ACCEPTABLE", None),
    (exceptions.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", None),
    (exceptions.Throttled, "RATE_LIMITED", None),
]


def error_body(
    *, code: str, message: str, details: Iterable[FieldError] = ()
) -> dict[str, dict[str, Any]]:
    return {
        "error": {
            "code": code,
            "message": gettext(message) if message else message,
            "details": [
                {"field": d.field, "message": gettext(d.message) if d.message else d.message}
                for d in details
            ],
            "request_id": get_request_id(),
        }
    }


def error_response(
    *,
    code: str,
    message: str,
    http_status: int,
    details: Iterable[FieldError] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    return Response(
        error_body(code=code, message=message, details=details),
        status=http_status,
        headers=dict(headers or {}),
    )


def service_unavailable_message() -> str:
    return gettext("The service is temporarily unavailable. Please try again in a moment.")


def _flatten(detail: Any, path: str = "") -> list[FieldError]:
    """DRF's nested error detail → one FieldError per message, with dotted field paths
    (`customer.email`, `resources.1`); errors about the whole body have field ""."""
    if isinstance(detail, Mapping):
        found: list[FieldError] = []
        for key, value in detail.items():
            name = "" if key in ("non_field_errors", "detail") else str(key)
            found.extend(_flatten(value, f"{path}.{name}" if path and name else path or name))
        return found
    if isinstance(detail, list | tuple):
        if all(not isinstance(item, Mapping | list | tuple) for item in detail):
            return [FieldError(path, str(item)) for item in detail]
        found = []
        for index, item in enumerate(detail):
            if item:
                found.extend(_flatten(item, f"{path}.{index}" if path else str(index)))
        return found
    return [FieldError(path, str(detail))]


def _message_of(detail: Any) -> str:
    if isinstance(detail, Mapping):
        if "detail" in detail:
            return str(detail["detail"])
        for value in detail.values():
            return _message_of(value)
        return ""
    if isinstance(detail, list | tuple):
        return _message_of(detail[0]) if detail else ""
    return str(detail)


def _drf_error(exc: exceptions.APIException) -> Response:
    code = exc.default_code.upper() if isinstance(exc.default_code, str) else "ERROR"
    message: str | None = None
    for exc_class, mapped_code, mapped_message in _DRF_CODES:
        if isinstance(exc, exc_class):
            code, message = mapped_code, mapped_message
            break
    headers: dict[str, str] = {}
    details: list[FieldError] = []
    if isinstance(exc, exceptions.ValidationError):
        details = _flatten(exc.detail)
    else:
        message = _message_of(exc.detail) or message
    if isinstance(exc, exceptions.NotAuthenticated):
        message = _DRF_CODES[3][2]
    if exc.status_code == status.HTTP_403_FORBIDDEN and code == "UNAUTHENTICATED":
        code = "PERMISSION_DENIED"
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    if isinstance(exc, exceptions.Throttled):
        wait = max(int(getattr(exc, "wait", None) or 0), 1)
        headers["Retry-After"] = str(wait)
        message = ngettext(
            "Too many requests. Try again in %(wait)d second.",
            "Too many requests. Try again in %(wait)d seconds.",
            wait,
        ) % {"wait": wait}
    return error_response(
        code=code,
        message=message or gettext_noop("The request failed."),
        http_status=exc.status_code,
        details=details,
        headers=headers,
    )


def api_exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response:
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]."""
    set_rollback()
    if isinstance(exc, DomainError):
        return error_response(
            code=exc.code, message=exc.message, http_status=exc.http_status, details=exc.details
        )
    if isinstance(exc, Http404 | ObjectDoesNotExist):
        return error_response(code="NOT_FOUND", message=gettext_noop("Not found."), http_status=404)
    if isinstance(exc, DjangoPermissionDenied):
        return error_response(
            code="PERMISSION_DENIED",
            message=gettext_noop("You do not have permission to do this."),
            http_status=403,
        )
    if isinstance(exc, exceptions.APIException):
        return _drf_error(exc)
    request = context.get("request")
    dependency = outage_dependency(exc)
    if dependency is not None:
        logger.warning(
            "service.unavailable",
            extra={
                "dependency": dependency,
                "error": f"{exc.__class__.__name__}: {exc}"[:500],
                "path": getattr(request, "path", ""),
                "method": getattr(request, "method", ""),
            },
        )
        return error_response(
            code="SERVICE_UNAVAILABLE",
            message=service_unavailable_message(),
            http_status=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"},
        )
    logger.exception(
        "api.unexpected_error",
        extra={"path": getattr(request, "path", ""), "method": getattr(request, "method", "")},
    )
    return error_response(
        code="INTERNAL_ERROR",
        message=gettext_noop("Something went wrong on our side. Quote the request id to support."),
        http_status=500,
    )


def is_api_request(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")
