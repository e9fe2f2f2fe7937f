"""What a locked-out sign-in gets (django-axes' AXES_LOCKOUT_CALLABLE): the API's error
envelope on API paths, a page everywhere else; 429 with Retry-After either way."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from apps.api.envelope import error_body, is_api_request


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = _(
        "Too many failed sign-in attempts. Sign-in is paused for %(minutes)s minutes "
        "for this account and this address; try again later or reset your password."
    ) % {"minutes": minutes}
    retry_after = str(minutes * 60)
    if is_api_request(request):
        response: HttpResponse = JsonResponse(
            error_body(code="SIGNIN_LOCKED", message=message), status=429
        )
    else:
        response = render(request, "registration/locked_out.html", {"message": message}, status=429)
    response["Retry-After"] = retry_after
    return response
