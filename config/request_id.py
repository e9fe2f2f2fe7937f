"""Request ids: accepted from `X-Request-Id` or created, echoed, logged, passed to tasks.

The middleware also keeps the ids of the request's span (config/tracing.py) for the
lines logged once that span has ended: Django's own "Not Found" and error lines, written
after the middleware returns (`request_trace()`), and gunicorn's access line, which reads
them and the URL pattern that matched from the WSGI environ (config/gunicorn_logging.py)."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse
from opentelemetry import trace

HEADER = "X-Request-Id"
ENVIRON_ROUTE = "timenest.route"
ENVIRON_TRACE_ID = "timenest.trace_id"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_current: ContextVar[str] = ContextVar("request_id", default="-")
_trace: ContextVar[tuple[str, str] | None] = ContextVar("request_trace", default=None)


def get_request_id() -> str:
    return _current.get()


def request_trace() -> tuple[str, str] | None:
    """(trace id, span id) of the request this thread serves or served last, if traced."""
    return _trace.get()


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
        span = trace.get_current_span().get_span_context()
        ids = None
        if span.is_valid:
            ids = (trace.format_trace_id(span.trace_id), trace.format_span_id(span.span_id))
            request.META[ENVIRON_TRACE_ID] = ids[0]
        _trace.set(ids)
        # The ids stay set after the response so Django's own request log carries them;
        # the next request on this thread replaces them.
        response = self.get_response(request)
        response[HEADER] = request_id
        if request.resolver_match is not None:
            request.META[ENVIRON_ROUTE] = request.resolver_match.route
        return response


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = get_request_id()
        return True
