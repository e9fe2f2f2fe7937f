"""`make drill`: the benchmark's production settings (config/settings/bench.py) in
places of the drill's own: database `timenest_drill`, Redis database 12 with key prefix
`drill`, Celery queue `timenest-drill`, one proxy (HAProxy) in front, and emails written
as .eml files that the drill counts. Used by the scale-out drill (tests/drill/) and the
processes it starts, which reach PostgreSQL through PgBouncer (POSTGRES_HOST/PORT set
by the drill)."""

import os
from pathlib import Path

os.environ.setdefault("POSTGRES_DB", "timenest_drill")
os.environ.setdefault(
    "REDIS_URL", f"redis://127.0.0.1:{os.environ.get('TIMENEST_REDIS_PORT', '6390')}/12"
)
os.environ.setdefault("CACHE_KEY_PREFIX", "drill")
os.environ.setdefault("CELERY_QUEUE", "timenest-drill")
os.environ.setdefault("API_NUM_PROXIES", "1")
os.environ.setdefault(
    "EMAIL_BACKEND", "apps.notifications.messages.mail_backends.EmlFileEmailBackend"
)

from config.settings.bench import *  # noqa: F403
from config.settings.bench import BASE_DIR

EMAIL_FILE_PATH = Path(
    os.environ.get("DRILL_MAIL_DIR", str(BASE_DIR / ".local" / "drill" / "mail"))
)
