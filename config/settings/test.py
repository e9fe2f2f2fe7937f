"""pytest: real PostgreSQL and Redis from `.local/`, like dev, with test-only speedups."""

import os
from pathlib import Path

from config.env import env_bool

os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("LOG_FORMAT", "json")

from config.settings.dev import *  # noqa: F403
from config.settings.dev import CACHES, DATABASE_ADMIN_PASSWORD, DATABASE_ADMIN_USER, DATABASES

DEBUG = False
# Each xdist worker gets its own database (pytest-django) and Redis key space.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER") or os.environ.get("TIMENEST_TEST_DB", "main")
CACHES["default"]["KEY_PREFIX"] = f"test-{_WORKER}"
DATABASES["default"]["CONN_MAX_AGE"] = 0
# Tests connect as the local superuser: pytest-django creates and flushes databases with
# it, and tests lift the audit guard (tests/plugins/audit_guard.py). The tests of the
# roles themselves open connections of their own as the serving role and the owner
# (tests/audit/test_database_roles.py).
DATABASES["default"]["USER"] = DATABASE_ADMIN_USER
DATABASES["default"]["PASSWORD"] = DATABASE_ADMIN_PASSWORD
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TIMENEST_TEST_DB", "test_timenest")}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# pytest-django forces locmem in the test process; a worker process started by a test
# can be given another backend (e.g. .eml files in a temporary folder it can count).
EMAIL_BACKEND = os.environ.get(
    "TEST_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend"
)
if os.environ.get("TEST_EMAIL_FILE_PATH"):
    EMAIL_FILE_PATH = Path(os.environ["TEST_EMAIL_FILE_PATH"])
SMS_BACKEND = "apps.notifications.messages.sms.LocmemSmsBackend"
TENANT_URL_SCHEME = "http"
TENANT_URL_PORT = ""
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Unit tests run tasks eagerly; tests that start a real worker set CELERY_EAGER=0 in
# the worker's environment and pick their own queue with CELERY_QUEUE.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", f"timenest-test-{_WORKER}")
# Tests reach Stripe only through the stand-in fixture (tests/plugins/stripe_standin.py),
# which points the client at it; anywhere else a call fails on a closed local port.
STRIPE_API_BASE = "http://127.0.0.1:9"
STRIPE_WEBHOOK_SECRET = "whsec_test_standin"
STRIPE_CONNECT_WEBHOOK_SECRET = "whsec_test_standin_connect"

# Tests take spares only where they make them (tests/accounts/test_schema_pool.py): a
# fill after every tenant a test creates would copy the template for nothing.
TENANT_SCHEMA_POOL_SIZE = 0
