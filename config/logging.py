"""One JSON object per log line, with the request id and any `extra=` fields; or, with
LOG_FORMAT=console, one plain line. Either way secrets in URL paths (manage-link tokens)
are taken out of the whole line, message, extras and traceback alike
(config/log_redaction.py)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from config.log_redaction import secrets_redact

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        # Extras such as Django's `request` are written as str(), which names the path.
        return secrets_redact(json.dumps(payload, default=str))


class ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return secrets_redact(super().format(record))
