"""gunicorn's access log without the secrets that travel in URL paths.

gunicorn writes its access log itself, outside Django's logging: the request line, the
path, the query and the `Referer` (a page under a manage link sends its own address)
would carry a customer's token. `docker/entrypoint.sh` starts gunicorn with
`--logger-class config.gunicorn_logging.RedactingLogger`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gunicorn.glogging import Logger

from config.log_redaction import secrets_redact


class RedactingLogger(Logger):
    def atoms(
        self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta
    ) -> dict[str, Any]:
        """Every text atom (`%(r)s`, `%(U)s`, `%(f)s`, `%({raw_uri}e)s`, headers…) with
        secrets in paths replaced, whatever access-log format is configured."""
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        return {
            key: secrets_redact(value) if isinstance(value, str) else value
            for key, value in atoms.items()
        }
