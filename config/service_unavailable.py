"""503 instead of 500 while PostgreSQL or Redis is out of reach, on every host and path.

A connection failure (apps/core/outages.py says which count) may surface anywhere: in
host routing (the tenant lookup), in the session or authentication middleware, in a view
or while a response is rendered. Wherever it does, the client is told the truth — the
service is temporarily unavailable, come back after `Retry-After` — in the form it
reads: the API's one error envelope (`SERVICE_UNAVAILABLE`) under /api/, a plain page
everywhere else. Neither touches the database, the session or the tenant while it is
made. Any other error keeps its 500.

One middleware, placed above everything that may touch a database, does it:
- a view's exception reaches its `process_exception`;
- an exception of an inner middleware has already been turned into a 500 by Django
  (each middleware is wrapped) before it gets here, so the exception is noted on the
  request when Django reports it (`got_request_exception`) and the 500 replaced here.
API views answer for themselves through the envelope's exception handler
(apps/api/envelope.py), with the same code and header.

Recovery needs nothing from here: each request asks for a usable connection again
(CONN_HEALTH_CHECKS tests a kept connection before reusing it, and one that failed is
closed at the end of its request), and the Redis clients reconnect on their own.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.cache import patch_cache_control

from apps.api.envelope import error_body, is_api_request, service_unavailable_message
from apps.core.outages import RETRY_AFTER_SECONDS, Dependency, outage_dependency

logger = logging.getLogger(__name__)

_NOTED = "_outage_noted"


def _note_outage(sender: object, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """Receiver of `got_request_exception`, sent while Django handles the exception."""
    exc = sys.exc_info()[1]
    if request is None or exc is None:
        return
    dependency = outage_dependency(exc)
    if dependency is not None:
        setattr(request, _NOTED, (dependency, exc))


def _outage_log(request: HttpRequest, *, dependency: Dependency, error: BaseException) -> None:
    logger.warning(
        "service.unavailable",
        extra={
            "dependency": dependency,
            "error": f"{error.__class__.__name__}: {error}"[:500],
            "path": request.path,
            "method": request.method,
        },
    )


def service_unavailable_response(
    request: HttpRequest, *, dependency: Dependency, error: BaseException
) -> HttpResponse:
    """The 503 for this request: the API's envelope under /api/, else the plain page."""
    _outage_log(request, dependency=dependency, error=error)
    response: HttpResponse
    if is_api_request(request):
        response = JsonResponse(
            error_body(code="SERVICE_UNAVAILABLE", message=service_unavailable_message()),
            status=503,
        )
    else:
        # No context processors (they read the tenant, the user, the session): the page is
        # rendered from the template and the request's language alone.
        language = translation.get_language_from_request(request)
        with translation.override(language):
            html = render_to_string(
                "503.html",
                {"language": language, "csp_nonce": getattr(request, "csp_nonce", "")},
            )
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    patch_cache_control(response, no_store=True)
    # Made above the security middleware, whose headers it would otherwise miss (the
    # policy middleware, above this one, still adds the Content-Security-Policy).
    response["X-Content-Type-Options"] = "nosniff"
    response["X-Frame-Options"] = "DENY"
    response["Referrer-Policy"] = settings.SECURE_REFERRER_POLICY or "same-origin"
    return response


class ServiceUnavailableMiddleware:
    """Above tenant routing in MIDDLEWARE (config/settings/base.py): see the module doc."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        got_request_exception.connect(_note_outage, dispatch_uid="config.service_unavailable")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        noted: tuple[Dependency, BaseException] | None = getattr(request, _NOTED, None)
        if noted is not None and response.status_code == 500:
            dependency, error = noted
            return service_unavailable_response(request, dependency=dependency, error=error)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        dependency = outage_dependency(exception)
        if dependency is None:
            return None
        return service_unavailable_response(request, dependency=dependency, error=exception)
