"""gunicorn's logs as JSON lines of the project's shape (config/logging.py), without the
secrets and personal data that travel in URLs.

gunicorn writes its access log and its own messages itself, outside Django's logging.
`RedactingLogger` gives both handlers the project's JSON formatter and writes one access
line per request with fixed fields:

    {"ts", "level", "logger": "gunicorn.access", "message": "GET /manage/[REDACTED]/ 200",
     "request_id", "trace_id", "span_id": null, "method", "path", "route", "status",
     "duration_ms", "bytes", "remote_addr"}

`path` is the path alone: the query string, which may carry an address or a name typed
into a search, is left out, and secrets in the path (a manage link's token) are replaced
(config/log_redaction.py). `route` is the URL pattern Django resolved (e.g.
`manage/<str:token>/`), null for a path that matched none. `request_id` and `trace_id`
are those of the request, which `config.request_id.RequestIdMiddleware` leaves in the
WSGI environ (the request's span has ended when gunicorn logs). The `Referer` and the
user agent are not logged. gunicorn's `access_log_format` is not used.

Start gunicorn with `--logger-class config.gunicorn_logging.RedactingLogger` (or
`logger_class` in a gunicorn configuration file) and an access log (`--access-logfile -`
or `accesslog = "-"`).
"""

from __future__ import annotations

import traceback
from datetime import timedelta
from typing import Any

from gunicorn.glogging import Logger

from config.log_redaction import secrets_redact
from config.logging import JsonFormatter
from config.request_id import ENVIRON_ROUTE, ENVIRON_TRACE_ID, HEADER


class RedactingLogger(Logger):
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        formatter = JsonFormatter()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if getattr(handler, "_gunicorn", False):
                    handler.setFormatter(formatter)

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> None:
        if not self.access_log_enabled:
            return
        try:
            fields = access_fields(resp, environ, request_time)
            message = f"{fields['method']} {fields['path']} {fields['status']}"
            self.access_log.info(message, extra=fields)
        except Exception:
            self.error(traceback.format_exc())

    def atoms(
        self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta
    ) -> dict[str, Any]:
        """Every text atom with secrets in paths replaced, for anything that still asks
        for gunicorn's atoms."""
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        return {
            key: secrets_redact(value) if isinstance(value, str) else value
            for key, value in atoms.items()
        }


def _response_header(resp: Any, name: str) -> str | None:
    for key, value in resp.headers:
        if key.lower() == name.lower():
            return str(value)
    return None


def access_fields(resp: Any, environ: dict[str, Any], request_time: timedelta) -> dict[str, Any]:
    status = resp.status
    if isinstance(status, str):
        status = status.split(None, 1)[0]
    return {
        "method": environ.get("REQUEST_METHOD", "-"),
        "path": secrets_redact(environ.get("PATH_INFO", "") or "/"),
        "route": environ.get(ENVIRON_ROUTE),
        "status": int(status),
        "duration_ms": round(request_time / timedelta(milliseconds=1), 2),
        "bytes": getattr(resp, "sent", None),
        "remote_addr": environ.get("REMOTE_ADDR"),
        "request_id": _response_header(resp, HEADER) or "-",
        "trace_id": environ.get(ENVIRON_TRACE_ID),
        # The access line is written after the request's span ended: no span is current.
        "span_id": None,
    }
