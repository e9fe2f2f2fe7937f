"""One JSON object per log line, with the request id and any `extra=` fields; or, with
LOG_FORMAT=console, one plain line. Either way secrets in URL paths (manage-link tokens)
are taken out of the whole line, message, extras and traceback alike
(config/log_redaction.py).

Every JSON line has the same keys first, in web, worker and beat processes alike (the
worker and beat use this configuration too: config/celery.py), then the record's extras:

    {"ts", "level", "logger", "message", "request_id", "trace_id", "span_id", ...}

`request_id` is "-" outside a request or a task sent by one; `trace_id` (32 hex digits)
and `span_id` (16) name the current span (config/tracing.py), or the request's span for
Django's lines written after it ended, null outside any; a line logged while a task runs
also has `task_id` and `task_name`. A request passed as an extra (Django's `request`) is
written as its method and path, without the query string.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from celery._state import get_current_task
from django.http import HttpRequest
from opentelemetry import trace

from config.log_redaction import secrets_redact
from config.request_id import request_trace

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "trace_id",
    "span_id",
}


class LogContextFilter(logging.Filter):
    """Adds the current span's trace and span ids (or, once a request's span has ended,
    as when Django logs a 404 or an error after the middleware, the request's) and, while
    a task runs, its id and name. Values the caller gave in `extra=` are kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "trace_id"):
            span = trace.get_current_span().get_span_context()
            if span.is_valid:
                record.trace_id = trace.format_trace_id(span.trace_id)
                record.span_id = trace.format_span_id(span.span_id)
            else:
                record.trace_id, record.span_id = request_trace() or (None, None)
        task = get_current_task()
        if task is not None and not hasattr(record, "task_id"):
            record.task_id = task.request.id
            record.task_name = task.name
        return True


def _loggable(value: object) -> object:
    # Django passes the request along with its "Not Found" and error lines; its str()
    # has the query string, where a search or a form sent by GET may carry an address
    # or a name. The method and path are enough to find the request (its id is there).
    if isinstance(value, HttpRequest):
        return f"{value.method} {value.path}"
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "trace_id": getattr(record, "trace_id", None),
            "span_id": getattr(record, "span_id", None),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = _loggable(value)
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        # Extras such as Django's `request` are written as str(), which names the path.
        return secrets_redact(json.dumps(payload, default=str))


class ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return secrets_redact(super().format(record))
