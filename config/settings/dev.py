"""Local development: `make run`. Finds PostgreSQL and Redis under `.local/`."""

import os
from pathlib import Path

_LOCAL = Path(os.environ.get("TIMENEST_LOCAL_DIR", Path(__file__).resolve().parents[2] / ".local"))
# Defaults that point at the services `config/local/services.sh` keeps under .local/.
os.environ.setdefault("DJANGO_SECRET_KEY", "dev-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("DJANGO_DEBUG", "true")
os.environ.setdefault("POSTGRES_HOST", str(_LOCAL / "run"))
os.environ.setdefault("POSTGRES_PORT", os.environ.get("TIMENEST_PG_PORT", "5432"))
os.environ.setdefault("POSTGRES_DB", "timenest")
# The database roles (ARCHITECTURE.md "Database roles"): `timenest`, the local cluster's
# superuser (config/local/services.sh), is the admin `setup_database` creates the other
# two with; `timenest_owner` owns the tables, and manage.py commands connect as it here;
# `timenest_app` serves: `make run` starts web, worker and beat with DATABASE_ROLE=serving.
os.environ.setdefault("POSTGRES_ADMIN_USER", "timenest")
os.environ.setdefault("POSTGRES_OWNER_USER", "timenest_owner")
os.environ.setdefault("POSTGRES_USER", "timenest_app")
os.environ.setdefault("DATABASE_ROLE", "owner")
os.environ.setdefault(
    "REDIS_URL", f"redis://127.0.0.1:{os.environ.get('TIMENEST_REDIS_PORT', '6390')}/0"
)
os.environ.setdefault("LOG_FORMAT", "console")
# Customer-data keys of local runs and tests (fixed, not derived from the secret key). The
# second decrypts values written before key lists (derived from the default secret key
# above); `manage.py rotate_encryption_keys` moves them to the first.
os.environ.setdefault(
    "PII_ENCRYPTION_KEYS",
    "VDtztgkDsJ9wYTuAOhggbMwzILPN-pSKHwOhpeer3Oc=,c6eR33cJVXlYoIhEpa1St2VldwNwy3sa3hOpVXhNLz0=",
)
os.environ.setdefault("PII_LOOKUP_KEY", "dev-only-pii-lookup-key-not-for-production-0123456789")
# Outgoing email becomes one .eml file per message under .local/mail/ (open it in a mail
# client); links in messages point at the local server.
os.environ.setdefault(
    "EMAIL_BACKEND", "apps.notifications.messages.mail_backends.EmlFileEmailBackend"
)
os.environ.setdefault("TENANT_URL_SCHEME", "http")
os.environ.setdefault("TENANT_URL_PORT", os.environ.get("PORT", "8000"))
# Webhook receivers of local runs and tests listen on 127.0.0.1 over plain http.
os.environ.setdefault("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "true")
os.environ.setdefault("WEBHOOK_ALLOW_PLAIN_HTTP", "true")
# Without Stripe keys of its own, a local run talks to the Stripe stand-in that
# `make run` starts (apps/billing/standin; config/local/Procfile), which signs the
# webhooks it sends back with this secret.
if not os.environ.get("STRIPE_TEST_SECRET_KEY"):
    os.environ.setdefault(
        "STRIPE_API_BASE", f"http://127.0.0.1:{os.environ.get('STRIPE_STANDIN_PORT', '12111')}"
    )
    os.environ.setdefault("STRIPE_WEBHOOK_SECRET", "whsec_local_standin")
    os.environ.setdefault("STRIPE_CONNECT_WEBHOOK_SECRET", "whsec_local_standin")

from config.settings.base import *  # noqa: E402,F403
from config.settings.base import LOCAL_DIR  # noqa: E402

DJANGO_ALLOWED_HOSTS = ALLOWED_HOSTS = ["localhost", ".localhost", "127.0.0.1"]
EMAIL_FILE_PATH = LOCAL_DIR / "mail"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve static files straight from the finders; no collectstatic in development.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
