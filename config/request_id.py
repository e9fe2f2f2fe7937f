"""Request ids: accepted from `X-Request-Id` or created, echoed, logged, passed to tasks."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-Id"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_current: ContextVar[str] = ContextVar("request_id", default="-")


def get_request_id() -> str:
    return _current.get()


def set_request_id(value: str | None) -> str:
    """Adopt a caller's id when it is safe to log, otherwise make a new one."""
    request_id = value if value and _VALID.match(value) else uuid.uuid4().hex
    _current.set(request_id)
    return request_id


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = set_request_id(request.headers.get(HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        # The id stays set after the response so Django's own request log carries it;
        # the next request on this thread replaces it.
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = get_request_id()
        return True
