"""Access decorators every surface shares."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase

from apps.core.errors import NotFound


def not_found_as_404(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """A page whose selectors or services raise `NotFound` (an unknown id, another
    business's id) answers Django's 404 with the error's message, never a 500. The API
    translates NotFound in its own envelope; the customer pages draw their own 404."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc

    return wrapper
