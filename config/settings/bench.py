"""`make bench`: production settings (DEBUG off, persistent database connections, JSON
logs) pointed at the local PostgreSQL and Redis under `.local/`, in places of its own:
database `timenest_bench`, Redis database 7 with key prefix `bench`, Celery queue
`timenest-bench`. Used by the benchmark runner (tests/bench/) and the gunicorn it
starts; nothing else imports it.
"""

import os
from pathlib import Path

_LOCAL = Path(os.environ.get("TIMENEST_LOCAL_DIR", Path(__file__).resolve().parents[2] / ".local"))
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789")
os.environ.setdefault("POSTGRES_HOST", str(_LOCAL / "run"))
os.environ.setdefault("POSTGRES_PORT", os.environ.get("TIMENEST_PG_PORT", "5432"))
os.environ.setdefault("POSTGRES_DB", "timenest_bench")
os.environ.setdefault("POSTGRES_USER", "timenest")
os.environ.setdefault("POSTGRES_CONN_MAX_AGE", "600")
os.environ.setdefault(
    "REDIS_URL", f"redis://127.0.0.1:{os.environ.get('TIMENEST_REDIS_PORT', '6390')}/7"
)
os.environ.setdefault("CACHE_KEY_PREFIX", "bench")
os.environ.setdefault("CELERY_QUEUE", "timenest-bench")
# Plain HTTP on loopback: no TLS redirect, no Secure-only cookies, no HSTS.
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("DJANGO_SECURE_COOKIES", "false")
os.environ.setdefault("DJANGO_HSTS_SECONDS", "0")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
os.environ.setdefault("PII_ENCRYPTION_KEYS", "6j4f9RVRCRYY_G_J6RSMg9yS8EEPERo6y1HIzHJqONw=")
os.environ.setdefault("PII_LOOKUP_KEY", "bench-only-pii-lookup-key-not-for-production-0123456789")
# The load generator talks to gunicorn directly: no proxy in front.
os.environ.setdefault("API_NUM_PROXIES", "0")
# The load generator is one client sending hundreds of requests a second with one API
# key: production limits would answer 429 to nearly all of them. The limiter itself
# still runs (one Redis round trip per request), only its ceiling is raised.
for _scope in ("API_RATE_API_KEY", "API_RATE_ANON_READ", "API_RATE_ANON_BOOKING"):
    os.environ.setdefault(_scope, "1000000/min")


from config.settings.prod import *  # noqa: E402,F403

ALLOWED_HOSTS = ["localhost", ".localhost", "127.0.0.1"]
# The tenant URLconf plus the bare JSON view the figures are compared with.
ROOT_URLCONF = "tests.bench.urls"
# No collectstatic for a benchmark of the API; pages are not measured.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
# The plan's rate for each key (1,000/min on the top plan) is lifted too, like the
# configured ceilings above.
API_RATE_PLAN_LIMITS = False

# The bench's migration roll-out figure installs one more tenant app for one
# `setup_database` run (tests/bench/rollout).
if os.environ.get("BENCH_ROLLOUT") == "1":
    TENANT_APPS = [*TENANT_APPS, "tests.bench.rollout"]  # noqa: F405
    INSTALLED_APPS = [*INSTALLED_APPS, "tests.bench.rollout"]  # noqa: F405
