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
os.environ.setdefault("POSTGRES_USER", "timenest")
os.environ.setdefault(
    "REDIS_URL", f"redis://127.0.0.1:{os.environ.get('TIMENEST_REDIS_PORT', '6390')}/0"
)
os.environ.setdefault("LOG_FORMAT", "console")
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
