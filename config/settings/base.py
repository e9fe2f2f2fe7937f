"""Settings shared by every environment.

Everything that differs between machines comes from the environment (12-factor);
`.env.example` lists each variable. `dev.py` supplies defaults that find the local
PostgreSQL and Redis kept under `.local/` by `make run`.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.env import env, env_bool, env_float, env_int, env_list

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = env("DJANGO_SECRET_KEY")
DEBUG = env_bool("DJANGO_DEBUG", default=False)
BASE_DOMAIN = env("BASE_DOMAIN", default="localhost")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", default=[BASE_DOMAIN, f".{BASE_DOMAIN}"])

# --- Apps: the SHARED/TENANT placement is decided once (see README "Schema placement").
SHARED_APPS = [
    # accounts precedes django_tenants so that its `create_tenant` command is the one run.
    "apps.accounts",  # tenants, domains, users, memberships: one identity across tenants
    "django_tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "django.contrib.humanize",
    "django_otp",
    # (Authenticator apps are apps.accounts' AuthenticatorDevice: its secret is encrypted.)
    "django_otp.plugins.otp_static",
    "django_celery_beat",
    "djstripe",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "anymail",
    "auditlog",
    "axes",  # sign-in lockouts (public schema: an account is global)
    "apps.audit",
    "apps.billing",
    "apps.core",  # the shared kernel (no models)
    # The directory's search index and its refresh outbox (apps/directory/index).
    "apps.directory.index",
    # The platform admin's support console (no models); last, so its admin module runs
    # after those of the apps whose admin it adjusts (accounts, auditlog, dj-stripe, billing).
    "apps.support",
]

TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.admin",
    "auditlog",
    "apps.audit",
    # (apps.billing is public only: plans and their history.)
    "apps.resources",
    "apps.calendars",
    "apps.bookings",
    "apps.notifications",
    "apps.api",  # API keys belong to a business
    "apps.directory",  # a business's listing in the public directory
    "apps.reviews",  # customers' reviews of their completed bookings
    "apps.waitlist",  # the waitlist and its timed offers
    # Adapters without models: every staff screen, every customer page.
    "apps.dashboard",
    "apps.booking_site",
]

INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "accounts.Tenant"
TENANT_DOMAIN_MODEL = "accounts.Domain"
PUBLIC_SCHEMA_NAME = "public"
# New tenants are cloned from this kept-empty, kept-migrated schema (see
# `manage.py setup_database`): running every migration per schema takes tens of seconds
# with dj-stripe installed, a clone takes about one.
TENANT_BASE_SCHEMA = "tenant_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
# `SET search_path` once per schema switch instead of before every statement (it was half
# of the statements of a request). Safe only because the installed backend forgets the
# path whenever PostgreSQL may have undone it (rollback, savepoint rollback, close) and
# on every switch; tests/accounts/test_search_path.py pins that behaviour.
TENANT_LIMIT_SET_CALLS = True
# How long a worker serves a host from its memory before reading the domain and tenant
# rows again (apps/accounts/middleware.py): the bound on a suspension or a policy change
# reaching every worker. 0 turns the cache off.
TENANT_ROUTING_CACHE_SECONDS = env_int("TENANT_ROUTING_CACHE_SECONDS", default=5)
# A closed business may be purged (`manage.py tenant_purge`: its schema dropped) only
# this many days after it was closed (apps/accounts/closure.py).
TENANT_PURGE_DELAY_DAYS = env_int("TENANT_PURGE_DELAY_DAYS", default=30)

AUTH_USER_MODEL = "accounts.User"

MIDDLEWARE = [
    # First, so that every response carries the policy, the tenant middleware's own
    # (unknown host) included; it reads no database (config/content_security.py).
    "config.content_security.ContentSecurityPolicyMiddleware",
    # Answers /metrics before tenant routing and times every other request (config/metrics.py).
    "config.metrics.MetricsMiddleware",
    # /healthz and /readyz on any host, before host routing reads the database and before
    # a request's span starts (config/health.py; they give their own request id).
    "config.health.HealthCheckMiddleware",
    # The request id next, so that every answer below carries it (503s too).
    "config.request_id.RequestIdMiddleware",
    # PostgreSQL or Redis out of reach anywhere below (host routing, session, views):
    # 503 with Retry-After instead of a 500 (config/service_unavailable.py).
    "config.service_unavailable.ServiceUnavailableMiddleware",
    "apps.accounts.middleware.TenantMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # A plain repeated GET slots or GET dates is answered here, from the cache, without
    # the middleware below that pages need or DRF (apps/api/fast_reads.py).
    "apps.api.fast_reads.FastReadMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # In place of Django's LocaleMiddleware, after authentication: staff screens follow the
    # person's own language, customer pages the `lang` picker, the browser, then the
    # business's default (apps/core/languages.py).
    "apps.core.languages.LanguageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "apps.accounts.signin.StaffIdleTimeoutMiddleware",
    "axes.middleware.AxesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
]

ROOT_URLCONF = "config.urls_tenant"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.accounts.context_processors.tenancy",
                "apps.dashboard.nav.dashboard_nav",
            ],
        },
    },
]

# Two database roles (ARCHITECTURE.md "Database roles"). Web, worker and beat connect as
# the serving role (POSTGRES_USER), which reads and writes rows and nothing more; the
# owner role (POSTGRES_OWNER_USER) owns every schema, table and function, and a process
# started with DATABASE_ROLE=owner connects as it: `setup_database` (migrations),
# `tenant_purge`, `audit_purge`. `setup_database` creates both roles when given an admin
# (POSTGRES_ADMIN_USER: a superuser). Without POSTGRES_OWNER_USER one role does both,
# and the audit trail is only as safe as that role's password.
DATABASE_SERVING_USER = env("POSTGRES_USER", default="timenest")
DATABASE_SERVING_PASSWORD = env("POSTGRES_PASSWORD", default="")
DATABASE_OWNER_USER = env("POSTGRES_OWNER_USER", default="") or DATABASE_SERVING_USER
DATABASE_OWNER_PASSWORD = env("POSTGRES_OWNER_PASSWORD", default="") or (
    DATABASE_SERVING_PASSWORD if DATABASE_OWNER_USER == DATABASE_SERVING_USER else ""
)
DATABASE_ADMIN_USER = env("POSTGRES_ADMIN_USER", default="")
DATABASE_ADMIN_PASSWORD = env("POSTGRES_ADMIN_PASSWORD", default="")
DATABASE_ROLE = env("DATABASE_ROLE", default="serving")
if DATABASE_ROLE not in ("serving", "owner"):
    raise ImproperlyConfigured(f"DATABASE_ROLE is serving or owner, got {DATABASE_ROLE!r}.")
_AS_OWNER = DATABASE_ROLE == "owner"

DATABASES = {
    "default": {
        "ENGINE": "apps.core.postgresql_backend",
        "NAME": env("POSTGRES_DB", default="timenest"),
        "USER": DATABASE_OWNER_USER if _AS_OWNER else DATABASE_SERVING_USER,
        "PASSWORD": DATABASE_OWNER_PASSWORD if _AS_OWNER else DATABASE_SERVING_PASSWORD,
        "HOST": env("POSTGRES_HOST", default="127.0.0.1"),
        "PORT": env("POSTGRES_PORT", default="5432"),
        "CONN_MAX_AGE": env_int("POSTGRES_CONN_MAX_AGE", default=60),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {"connect_timeout": 5},
    }
}
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
# A kept connection is closed between requests (or tasks) once it has worked in this many
# businesses: PostgreSQL keeps each business's catalogue entries per connection, some
# 250 KB each (apps/core/postgresql_backend/base.py). 0: never.
DATABASE_CONNECTION_MAX_SCHEMAS = env_int("DATABASE_CONNECTION_MAX_SCHEMAS", default=400)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="tn"),
        # Keys carry the schema name so tenants never read each other's cache.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": 2,
            "SOCKET_TIMEOUT": 2,
            # JSON, not pickle: an entry someone writes into Redis cannot run code here.
            # Only JSON's own types: datetimes, UUIDs and models are converted by each
            # cache user (config/cache_serializer.py, apps/core/cache_values.py).
            "SERIALIZER": "config.cache_serializer.StrictJSONSerializer",
        },
    }
}

# Availability answers are reused for at most this long (and never past the end of a hold
# they counted); every slot write and catalogue change retires them at once
# (apps/calendars/availability/cache.py). 0 turns the cache off.
AVAILABILITY_CACHE_SECONDS = env_int("AVAILABILITY_CACHE_SECONDS", default=60)
# Past slots are only history (bookings carry their own times): kept this many days for
# the dashboard's recent weeks, then deleted nightly so the slot table stops growing.
SLOT_RETENTION_DAYS = env_int("SLOT_RETENTION_DAYS", default=35)
# Recurring series (apps/bookings/series.py): how far ahead, in days from today in the
# location's zone, a series' last date may lie. Customers up to the first; staff further
# with a reason, never past the second (days beyond the grid are built for a series).
SERIES_CUSTOMER_MAX_DAYS_AHEAD = env_int("SERIES_CUSTOMER_MAX_DAYS_AHEAD", default=365)
SERIES_MAX_DAYS_AHEAD = env_int("SERIES_MAX_DAYS_AHEAD", default=730)

SESSION_ENGINE = "django.contrib.sessions.backends.db"
# Host-only cookies: a session made on acme.example.com is never sent to globex.
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# --- Sign-in (apps/accounts/signin.py). django-axes counts failed sign-ins on every
# surface (login pages, admin logins, the staff token endpoint) in PostgreSQL, so a
# lockout holds while Redis is down; 5 failures for one account, or from one address,
# lock it for 15 minutes, during which even the right password is refused.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# The name authenticator apps show beside the account.
OTP_TOTP_ISSUER = "TimeNest"

AXES_FAILURE_LIMIT = env_int("SIGNIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("SIGNIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # sign-ins are logged as JSON events instead
AXES_VERBOSE = False
AXES_USERNAME_CALLABLE = "apps.accounts.signin.signin_username"
AXES_CLIENT_IP_CALLABLE = "apps.accounts.signin.signin_client_address"
AXES_LOCKOUT_CALLABLE = "config.lockout.lockout_response"
# Idle staff sessions end (and with them the second factor passed in them): an admin's
# after 30 minutes without a request, anyone else's after 8 hours.
STAFF_IDLE_TIMEOUT_ADMIN_MINUTES = env_int("STAFF_IDLE_TIMEOUT_ADMIN_MINUTES", default=30)
STAFF_IDLE_TIMEOUT_MINUTES = env_int("STAFF_IDLE_TIMEOUT_MINUTES", default=8 * 60)
# A signup is confirmed through a link sent to the address; it works this long.
SIGNUP_LINK_HOURS = env_int("SIGNUP_LINK_HOURS", default=24)
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en"
# The languages of the pages and emails (config/locale/<code>/LC_MESSAGES/django.po,
# compiled by `manage.py compile_catalogues`); a business picks its default among them.
LANGUAGES = [
    ("en", "English"),
    ("de", "Deutsch"),
    ("fr", "Français"),
    ("es", "Español"),
]
LOCALE_PATHS = [BASE_DIR / "config" / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT: Path | None = BASE_DIR / ".local" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = BASE_DIR / ".local" / "media"
MEDIA_URL = "/media/"

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="TimeNest <no-reply@timenest.app>")
ANYMAIL = {
    key: value
    for key, value in {
        "POSTMARK_SERVER_TOKEN": env("POSTMARK_SERVER_TOKEN", default=""),
        "SENDGRID_API_KEY": env("SENDGRID_API_KEY", default=""),
        "MAILGUN_API_KEY": env("MAILGUN_API_KEY", default=""),
        "MAILGUN_SENDER_DOMAIN": env("MAILGUN_SENDER_DOMAIN", default=""),
    }.items()
    if value
}

# --- Celery: tenant-aware app (config/celery.py), Redis broker, DB-backed beat.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default="timenest")
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# A task is told to stop (SoftTimeLimitExceeded) after the soft limit and its process is
# replaced after the hard one, so that a call that never returns cannot hold a worker
# slot for good. Tasks known to be long have their own limits below. Every hard limit
# stays under the broker's visibility timeout, after which Redis would hand a task that
# is still running to a second worker.
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", default=120)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", default=150)
_LONG_TASK_LIMITS = {"soft_time_limit": 600, "time_limit": 660}
CELERY_TASK_ANNOTATIONS = {
    # A whole business's slot grid to the horizon, or a batch of resources' grids.
    "calendars.materialize_tenant": _LONG_TASK_LIMITS,
    "calendars.materialize_resource": _LONG_TASK_LIMITS,
    # Deletions (a business's old slots, webhook events) and the daily standing pass.
    "calendars.prune_slots": _LONG_TASK_LIMITS,
    "webhooks.purge": _LONG_TASK_LIMITS,
    "billing.lifecycle_check": _LONG_TASK_LIMITS,
    # One message per ready business.
    "accounts.run_in_every_tenant": {"soft_time_limit": 300, "time_limit": 330},
    "accounts.run_where_due": {"soft_time_limit": 300, "time_limit": 330},
    # Copies of the template (seconds each with thousands of businesses).
    "accounts.schema_pool_fill": _LONG_TASK_LIMITS,
    # Reads every business's due work in one task.
    "notifications.work_due_repair": _LONG_TASK_LIMITS,
    "waitlist.work_due_repair": _LONG_TASK_LIMITS,
}
# Only one beat sends periodic tasks, whichever number runs: the others wait for its
# Redis lock (config/beat_scheduler.py). The key defaults to one under the cache prefix.
CELERY_BEAT_SCHEDULER = "config.beat_scheduler:SingleBeatScheduler"
CELERY_BEAT_LOCK_URL = env("CELERY_BEAT_LOCK_URL", default=REDIS_URL)
CELERY_BEAT_LOCK_KEY = env("CELERY_BEAT_LOCK_KEY", default="")
CELERY_BEAT_LOCK_SECONDS = env_int("CELERY_BEAT_LOCK_SECONDS", default=30)
# Worker and beat log through LOGGING below, not Celery's handlers (config/celery.py).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Each task would otherwise re-read its tenant row.
CELERY_TASK_TENANT_CACHE_SECONDS = 30
# Periodic work. Work done in a business goes through `accounts.run_where_due`: only
# into businesses whose (kind) work is due (apps/accounts/due_work.py), so an idle
# business costs no task at any tick. A lost task makes its business due again after the
# lease. (`accounts.run_in_every_tenant`, a task into every ready business, is for
# one-off runs by hand; nothing periodic uses it.)
TENANT_WORK_LEASE_SECONDS = env_int("TENANT_WORK_LEASE_SECONDS", default=300)
# The daily grid upkeep of many businesses falls due together (after a zone's midnight)
# and may queue and run for minutes: it is sent again only after two hours.
TENANT_WORK_LEASE_SECONDS_BY_KIND = {"materialize": 2 * 3600}
# ... and is sent at the broker's lowest priority, so that the time-sensitive work sent
# meanwhile (reminders, webhooks, lapsing holds, the directory's refreshes) is taken
# first instead of waiting behind thousands of upkeeps. Redis serves priority 0 (every
# other task's) before 9; a worker holds one message per process ahead
# (CELERY_WORKER_PREFETCH_MULTIPLIER).
TENANT_WORK_PRIORITY_BY_KIND = {"materialize": 9}
# New migrations reach the tenant schemas as SQL written once and replayed on this many
# connections at once (apps/accounts/schema_migrations.py).
TENANT_MIGRATION_WORKERS = env_int("TENANT_MIGRATION_WORKERS", default=3)
# Spare schemas copied ahead of signups, so that a signup renames one instead of cloning
# the template (apps/accounts/schema_pool.py); 0: the next fill drops them, and every
# signup clones.
TENANT_SCHEMA_POOL_SIZE = env_int("TENANT_SCHEMA_POOL_SIZE", default=2)
# Entries a release removed from CELERY_BEAT_SCHEDULE: beat deletes them from the
# database's schedule, which django-celery-beat would otherwise keep sending
# (config/beat_scheduler.py).
CELERY_BEAT_RETIRED = ("tenants-heartbeat", "calendars-slots-prune")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # Elapsed holds count as free at read time already; this gives their places back
    # and marks them expired within a minute (PRODUCT.md §4.2).
    "bookings-holds-expire": {
        "task": "accounts.run_where_due",
        "schedule": crontab(),
        "args": ("holds", "bookings.holds_expire"),
    },
    # Freed places go to the people waiting: sent only into businesses where a place
    # freed or an offer lapses (apps/waitlist; on commit already, this catches up).
    "waitlist-offers-make": {
        "task": "accounts.run_where_due",
        "schedule": float(env_int("WAITLIST_DISPATCH_INTERVAL_SECONDS", default=15)),
        "args": ("waitlist", "waitlist.offers_make"),
    },
    # Its backstop: a wake whose due-time note was lost (apps/waitlist/due_work.py).
    "waitlist-due-work-repair": {
        "task": "waitlist.work_due_repair",
        "schedule": crontab(minute=31),
    },
    # A business's daily grid upkeep, due just after a location's local midnight: extends
    # every slot grid to the rolling horizon (90 days by default), heals drift and prunes
    # slots that ended SLOT_RETENTION_DAYS ago (bookings keep their times). Rule changes
    # rebuild their resources right after commit on their own.
    "calendars-materialize": {
        "task": "accounts.run_where_due",
        "schedule": crontab(minute="*/5"),
        "args": ("materialize", "calendars.materialize_tenant"),
    },
    # Spare schemas for signups (apps/accounts/schema_pool.py): one public task.
    "accounts-schema-pool-fill": {
        "task": "accounts.schema_pool_fill",
        "schedule": crontab(minute="*/5"),
    },
    # Trials that ended and grace periods that ran out (apps/billing/services.py).
    "billing-lifecycle": {
        "task": "billing.lifecycle_check",
        "schedule": crontab(minute=5, hour=3),
    },
    # Stripe events whose processing failed are tried again (apps/billing/webhooks.py).
    "billing-stripe-events-retry": {
        "task": "billing.stripe_events_retry",
        "schedule": crontab(minute="*/5"),
    },
    # Refunds decided on cancelling whose task was lost (broker out of reach) or has not
    # managed yet are made (apps/billing/refunds.py).
    # (Due 5 minutes after the refund is decided: apps/notifications/migrations/0010.)
    "billing-refunds-due": {
        "task": "accounts.run_where_due",
        "schedule": crontab(),
        "args": ("refunds", "billing.refunds_due"),
    },
    # Idempotency records are replayed for 24 h, then deleted.
    # (Where a record is older than that; noted by the hourly backstop below.)
    "bookings-idempotency-purge": {
        "task": "accounts.run_where_due",
        "schedule": crontab(minute="*/10"),
        "args": ("idempotency", "bookings.idempotency_purge"),
    },
    # Sends due notifications (and recovers sends interrupted by a dead worker). A due
    # reminder waits at most one interval plus the queue ahead of it.
    # The backstop of due work: what is due in every business, read by one task
    # (apps/notifications/due_work.py); the triggers normally note it all already.
    "due-work-repair": {
        "task": "notifications.work_due_repair",
        "schedule": crontab(minute=29),
    },
    "notifications-dispatch": {
        "task": "accounts.run_where_due",
        "schedule": float(env_int("NOTIFICATION_DISPATCH_INTERVAL_SECONDS", default=15)),
        "args": ("messages", "notifications.dispatch_due"),
    },
    # Sends webhook deliveries whose first try was lost or whose retry is due.
    "webhooks-dispatch": {
        "task": "accounts.run_where_due",
        "schedule": float(env_int("WEBHOOK_DISPATCH_INTERVAL_SECONDS", default=15)),
        "args": ("webhooks", "webhooks.dispatch_due"),
    },
    # Webhook events and their delivery logs are kept WEBHOOK_RETENTION_DAYS (where an
    # event is older than that; noted by the hourly backstop below).
    "webhooks-purge": {
        "task": "accounts.run_where_due",
        "schedule": crontab(minute=23),
        "args": ("webhook-events", "webhooks.purge"),
    },
    # Directory index rebuilds that are due (debounced slot changes, lost sends): one
    # public task that queues a rebuild per due business (apps/directory/refresh.py).
    "directory-dispatch": {
        "task": "directory.dispatch_due",
        "schedule": float(env_int("DIRECTORY_DISPATCH_INTERVAL_SECONDS", default=15)),
    },
    # Drift repair: closed businesses' rows out, stale rows (a passed next free start,
    # older than DIRECTORY_MAX_AGE_HOURS) rebuilt; work in proportion to what drifted.
    "directory-repair": {
        "task": "directory.repair",
        "schedule": crontab(minute="*/10"),
    },
}

# --- Integrator API (apps/api). Every API view authenticates with a tenant API key, a
# tenant-bound JWT or the dashboard's session (CSRF enforced), answers errors in one
# envelope and is rate limited per API key / user / client IP (Redis, fixed windows).
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "apps.api.openapi.ApiAutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.api.authentication.ApiKeyAuthentication",
        "apps.api.authentication.TenantJWTAuthentication",
        "apps.api.authentication.TenantSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.api.permissions.IsTenantPrincipal"],
    "DEFAULT_THROTTLE_CLASSES": ["apps.api.throttles.ApiRateThrottle"],
    # Per minute unless stated. Anonymous callers are counted per client IP; "auth" is
    # the token endpoint (password guessing).
    "DEFAULT_THROTTLE_RATES": {
        "anon_read": env("API_RATE_ANON_READ", default="60/min"),
        "anon_booking": env("API_RATE_ANON_BOOKING", default="10/min"),
        # A ceiling: each key gets its business's plan rate (apps/billing/plans.py).
        "api_key": env("API_RATE_API_KEY", default="1000/min"),
        "user": env("API_RATE_USER", default="100/min"),
        "auth": env("API_RATE_AUTH", default="10/min"),
        # Pages that send email to a typed address (per client and per address).
        "signup": env("RATE_SIGNUP", default="10/hour"),
        "password_reset": env("RATE_PASSWORD_RESET", default="5/hour"),
    },
    # Proxies in front of the app that append to X-Forwarded-For (0: use REMOTE_ADDR).
    "NUM_PROXIES": env_int("API_NUM_PROXIES", default=0),
    "EXCEPTION_HANDLER": "apps.api.envelope.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# Each API key's rate is its business's plan's (apps/billing/plans.py) under the ceiling
# above. Only the benchmark's settings, one key sending hundreds of requests a second,
# turn it off (no environment variable can).
API_RATE_PLAN_LIMITS = True
# Lists: `?page=&per_page=`; per_page is capped.
API_DEFAULT_PER_PAGE = 20
API_MAX_PER_PAGE = 100
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=15),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=7),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    # A password change invalidates the tokens issued before it.
    "CHECK_REVOKE_TOKEN": True,
    "CHECK_USER_IS_ACTIVE": True,
}
# However often a staff JWT is refreshed, the chain ends this long after the sign-in
# that began it (apps/api/staff_tokens.py); then the person signs in again (and gives
# their second factor). One refresh token's lifetime: a sign-in lasts no longer than it
# did before rotation existed.
STAFF_TOKEN_ABSOLUTE_LIFETIME = timedelta(
    hours=env_int("STAFF_TOKEN_ABSOLUTE_LIFETIME_HOURS", default=7 * 24)
)
SPECTACULAR_SETTINGS = {
    "TITLE": "TimeNest API",
    "DESCRIPTION": (
        "Book, confirm, reschedule and cancel appointments, and manage a business's "
        "locations, resources, services and opening hours. Every error answers "
        '`{"error": {"code", "message", "details": [{"field", "message"}], "request_id"}}`. '
        "Booking changes can also be pushed to your URLs as webhooks signed with "
        "HMAC-SHA256 (headers TimeNest-Timestamp and TimeNest-Signature): see the "
        "Admin: webhooks operations for how to verify them."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "BookingStatusEnum": "apps.bookings.models.Booking.Status",
        "ApiKeyRoleEnum": "apps.api.models.ApiKey.Role",
        "ResourceKindEnum": "apps.resources.models.Resource.Kind",
        "AvailabilityRuleKindEnum": "apps.calendars.models.AvailabilityRule.Kind",
        "WebhookDeliveryStatusEnum": "apps.notifications.webhooks.models.WebhookDelivery.Status",
        "WebhookEventTypeEnum": "apps.notifications.webhooks.models.WebhookEventType",
        "WebhookSubscribedEventEnum": "apps.notifications.webhooks.models.SUBSCRIBABLE_EVENT_TYPES",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Platform plans (apps/billing/plans.py): a new business tries the top plan for
# BILLING_TRIAL_DAYS; a business past due is suspended after BILLING_GRACE_DAYS.
BILLING_TRIAL_DAYS = env_int("BILLING_TRIAL_DAYS", default=14)
BILLING_GRACE_DAYS = env_int("BILLING_GRACE_DAYS", default=14)

# dj-stripe: the subscriber of platform plans is the tenant, not a user.
STRIPE_LIVE_MODE = env_bool("STRIPE_LIVE_MODE", default=False)
# The default is the local stand-in's (dj-stripe wants 24 characters after the prefix).
STRIPE_TEST_SECRET_KEY = env("STRIPE_TEST_SECRET_KEY", default="sk_test_standin0standin0standin0")
STRIPE_LIVE_SECRET_KEY = env("STRIPE_LIVE_SECRET_KEY", default="")
# Where stripe-python sends API calls (apps/billing/apps.py sets stripe.api_base from it):
# Stripe itself in production, the local stand-in (apps/billing/standin) in development
# and tests.
STRIPE_API_BASE = env("STRIPE_API_BASE", default="https://api.stripe.com")
# Signing secret of the platform's webhook endpoint (/billing/stripe/webhook/).
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
# Signing secret of the endpoint for the businesses' own accounts (Connect) and the
# country a new connected account is opened in; an optional platform fee on bookings.
STRIPE_CONNECT_WEBHOOK_SECRET = env("STRIPE_CONNECT_WEBHOOK_SECRET", default="")
STRIPE_CONNECT_COUNTRY = env("STRIPE_CONNECT_COUNTRY", default="GB")
BOOKING_APPLICATION_FEE_PERCENT = env_int("BOOKING_APPLICATION_FEE_PERCENT", default=0)
DJSTRIPE_SUBSCRIBER_MODEL = "accounts.Tenant"
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
DJSTRIPE_USE_NATIVE_JSONFIELD = True
DJSTRIPE_WEBHOOK_VALIDATION = "verify_signature"

# --- Notifications (apps/notifications). Email goes through EMAIL_BACKEND (anymail's
# ESP backend in production); text messages through SMS_BACKEND.
SMS_BACKEND = env("SMS_BACKEND", default="apps.notifications.messages.sms.ConsoleSmsBackend")
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env("TWILIO_FROM_NUMBER", default="")
TWILIO_MESSAGING_SERVICE_SID = env("TWILIO_MESSAGING_SERVICE_SID", default="")
TWILIO_API_BASE = env("TWILIO_API_BASE", default="https://api.twilio.com")
# A failed send is retried after BASE, 2*BASE, 4*BASE ... (at most MAX) seconds; after
# MAX_ATTEMPTS attempts the notification is `failed` and shown in the dashboard.
NOTIFICATION_MAX_ATTEMPTS = env_int("NOTIFICATION_MAX_ATTEMPTS", default=5)
NOTIFICATION_RETRY_BASE_SECONDS = env_int("NOTIFICATION_RETRY_BASE_SECONDS", default=60)
NOTIFICATION_RETRY_MAX_SECONDS = env_int("NOTIFICATION_RETRY_MAX_SECONDS", default=3600)
# A row stays `sending` at most this long; after that its worker is presumed dead.
NOTIFICATION_SENDING_LEASE_SECONDS = env_int("NOTIFICATION_SENDING_LEASE_SECONDS", default=120)
# A queued send task that has not run after this long is queued again (lost message).
NOTIFICATION_REDISPATCH_SECONDS = env_int("NOTIFICATION_REDISPATCH_SECONDS", default=300)
NOTIFICATION_DISPATCH_BATCH = env_int("NOTIFICATION_DISPATCH_BATCH", default=1000)
# When a worker died while handing a message to a provider that cannot say whether it
# arrived: "fail" (at most once: the row is failed, visible, and can be retried) or
# "resend" (at least once).
NOTIFICATION_UNCERTAIN_DELIVERY = env("NOTIFICATION_UNCERTAIN_DELIVERY", default="fail")
# Links in emails and SMS point at the tenant's primary domain.
TENANT_URL_SCHEME = env("TENANT_URL_SCHEME", default="https")
TENANT_URL_PORT = env("TENANT_URL_PORT", default="")

# --- Outbound webhooks (apps/notifications/webhooks). A failed attempt is retried after
# BASE, 2*BASE, 4*BASE ... (at most MAX) seconds: with these defaults 14 attempts over
# about 24 h. An endpoint is disabled (and its admins emailed) once DISABLE_AFTER_FAILED_EVENTS
# events in a row failed for good and it has been failing for DISABLE_AFTER_SECONDS.
WEBHOOK_MAX_ENDPOINTS = env_int("WEBHOOK_MAX_ENDPOINTS", default=20)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", default=14)
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", default=60)
WEBHOOK_RETRY_MAX_SECONDS = env_int("WEBHOOK_RETRY_MAX_SECONDS", default=4 * 3600)
WEBHOOK_DISABLE_AFTER_FAILED_EVENTS = env_int("WEBHOOK_DISABLE_AFTER_FAILED_EVENTS", default=5)
WEBHOOK_DISABLE_AFTER_SECONDS = env_int("WEBHOOK_DISABLE_AFTER_SECONDS", default=24 * 3600)
WEBHOOK_CONNECT_TIMEOUT_SECONDS = env_int("WEBHOOK_CONNECT_TIMEOUT_SECONDS", default=5)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", default=10)
# A delivery stays `sending` at most this long; after that its worker is presumed dead.
WEBHOOK_SENDING_LEASE_SECONDS = env_int("WEBHOOK_SENDING_LEASE_SECONDS", default=60)
# A queued send task that has not run after this long is queued again (lost message).
WEBHOOK_REDISPATCH_SECONDS = env_int("WEBHOOK_REDISPATCH_SECONDS", default=300)
WEBHOOK_DISPATCH_BATCH = env_int("WEBHOOK_DISPATCH_BATCH", default=1000)
WEBHOOK_RETENTION_DAYS = env_int("WEBHOOK_RETENTION_DAYS", default=30)
# SSRF guard (apps/notifications/webhooks/url_policy.py): production refuses endpoints on
# private, loopback and link-local addresses, and plain http (events carry customer
# details). Development and tests turn both on to reach receivers on 127.0.0.1.
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=False)
WEBHOOK_ALLOW_PLAIN_HTTP = env_bool("WEBHOOK_ALLOW_PLAIN_HTTP", default=False)

# --- Public directory (apps/directory). Slot changes rebuild a business's index rows
# at most once per DEBOUNCE seconds; listing changes at once. A row is rebuilt anyway
# after MAX_AGE hours; free days are indexed this many days ahead.
DIRECTORY_REFRESH_DEBOUNCE_SECONDS = env_int("DIRECTORY_REFRESH_DEBOUNCE_SECONDS", default=30)
DIRECTORY_REFRESH_MAX_ATTEMPTS = env_int("DIRECTORY_REFRESH_MAX_ATTEMPTS", default=8)
DIRECTORY_REFRESH_RETRY_BASE_SECONDS = env_int("DIRECTORY_REFRESH_RETRY_BASE_SECONDS", default=30)
DIRECTORY_REFRESH_RETRY_MAX_SECONDS = env_int("DIRECTORY_REFRESH_RETRY_MAX_SECONDS", default=1800)
DIRECTORY_REFRESH_LEASE_SECONDS = env_int("DIRECTORY_REFRESH_LEASE_SECONDS", default=300)
DIRECTORY_REFRESH_REDISPATCH_SECONDS = env_int("DIRECTORY_REFRESH_REDISPATCH_SECONDS", default=300)
DIRECTORY_REFRESH_DISPATCH_BATCH = env_int("DIRECTORY_REFRESH_DISPATCH_BATCH", default=500)
DIRECTORY_MAX_AGE_HOURS = env_int("DIRECTORY_MAX_AGE_HOURS", default=24)
DIRECTORY_FREE_DAYS_AHEAD = env_int("DIRECTORY_FREE_DAYS_AHEAD", default=60)
# Trigram word similarity at or above which a query matches text it does not contain
# ("fysio" → "physiotherapist" is 0.33).
DIRECTORY_FUZZY_THRESHOLD = 0.3

# Customer data at rest (apps/bookings/pii.py). PII_ENCRYPTION_KEYS: Fernet keys, newest
# first; the first encrypts, each decrypts what it made (`manage.py rotate_encryption_keys`
# moves values to the first). PII_LOOKUP_KEY keys the lookup hashes and does not rotate
# with them. Production requires both, independent of SECRET_KEY (config/pii_keys.py);
# development and tests set fixed local ones (config/settings/dev.py).
PII_ENCRYPTION_KEYS = env_list("PII_ENCRYPTION_KEYS", default=[])
PII_LOOKUP_KEY = env("PII_LOOKUP_KEY", default="")
# A customer's manage link (and API booking token) opens its booking until the booking's
# end plus this many days (apps/bookings/access_tokens.py); after that it says it expired.
BOOKING_LINK_GRACE_DAYS = env_int("BOOKING_LINK_GRACE_DAYS", default=30)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "config.request_id.RequestIdLogFilter"},
        # trace_id and span_id of the current span, task_id and task_name in a task.
        "context": {"()": "config.logging.LogContextFilter"},
    },
    "formatters": {
        "json": {"()": "config.logging.JsonFormatter"},
        # Both leave secrets out of logged paths: manage-link tokens (config/log_redaction.py).
        "console": {
            "class": "config.logging.ConsoleFormatter",
            "format": "%(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "formatter": env("LOG_FORMAT", default="json"),
            "filters": ["request_id", "context"],
        },
    },
    "root": {"handlers": ["stdout"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Sign-in events are logged as signin.* by apps/accounts/signin.py.
        "axes": {"level": "WARNING"},
        "celery": {"level": "INFO"},
        # Django's own handlers (a bare echo under DEBUG, mail to ADMINS) would write
        # request paths unredacted: its records reach `stdout` through the root instead,
        # and runserver's request lines go there too.
        "django": {"level": "INFO"},
        "django.server": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
    },
}

# Content-Security-Policy (django-csp; config/content_security.py widens it for the
# admin and the API docs). No inline script anywhere; the one inline <style> a page may
# have (a business's accent colours, templates/base.html) carries the request's nonce;
# images from anywhere over https (a business's logo URL).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "https:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
    },
}
# Who may frame a business's pages: a dotted path to a callable taking the request and
# returning https origins (e.g. read from the request's tenant). The booking pages under
# /embed/ name the sites the business lists; every other page: nobody.
FRAME_ANCESTORS_FUNCTION = "apps.booking_site.embed.embed_frame_ancestors"

# Who may read why /readyz failed (error text names internal hosts): client addresses in
# these networks, found behind API_NUM_PROXIES trusted proxies. Everybody else is told
# only which checks failed. Loopback by default (an operator on the machine).
HEALTH_DETAIL_ALLOWED_NETS = env_list(
    "HEALTH_DETAIL_ALLOWED_NETS", default=["127.0.0.0/8", "::1/128"]
)

# /metrics (config/metrics.py): with a token, only `Authorization: Bearer <token>`
# scrapes; without one, only loopback clients. PROMETHEUS_MULTIPROC_DIR (read by
# prometheus-client itself) is set for gunicorn and Celery, never for runserver or tests.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# One scrape's whole read of the outboxes in PostgreSQL (every statement of it, each
# also bounded by 2 s): past it the figures keep their last good values, and
# timenest_metrics_scrape_errors_total{reason="deadline"} counts the cut-off.
METRICS_DATABASE_BUDGET_SECONDS = env_float("METRICS_DATABASE_BUDGET_SECONDS", default=5.0)

# Data kept under `.local/` (PostgreSQL cluster, Redis, mail drops) in local runs.
LOCAL_DIR = Path(os.environ.get("TIMENEST_LOCAL_DIR", BASE_DIR / ".local"))

# Where `manage.py backup` writes its archives and manifests unless told (--output-dir);
# OPERATIONS.md "Backups and recovery". Production points it at a volume that is copied
# off the machine.
BACKUP_DIR = Path(env("BACKUP_DIR", default="") or LOCAL_DIR / "backups")
