"""Production: every secret and host comes from the environment."""

from django.core.exceptions import ImproperlyConfigured

from config.env import env, env_bool, env_int
from config.pii_keys import pii_keys_check
from config.settings.base import *  # noqa: F403
from config.settings.base import PII_ENCRYPTION_KEYS, PII_LOOKUP_KEY, REST_FRAMEWORK, SECRET_KEY

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
EMAIL_BACKEND = env("EMAIL_BACKEND", default="anymail.backends.postmark.EmailBackend")

# How many proxies in front of the app append to X-Forwarded-For (apps/core/rate_limits.py
# finds the client there). A wrong guess is a security hole either way: behind a load
# balancer, 0 puts every client in one rate-limit bucket; counting a proxy that is not
# there lets clients name themselves. So there is no default: 0 (clients connect
# directly) must be said as explicitly as 2.
_num_proxies = env("API_NUM_PROXIES", default="").strip()
if not (_num_proxies.isascii() and _num_proxies.isdecimal()):
    raise ImproperlyConfigured(
        "Set API_NUM_PROXIES to the number of proxies in front of the app that append to "
        f"X-Forwarded-For (0 when clients connect directly); got {_num_proxies!r}."
    )
REST_FRAMEWORK = {**REST_FRAMEWORK, "NUM_PROXIES": int(_num_proxies)}

# Customer data at rest: no default key, and none that SECRET_KEY gives away.
pii_keys_check(
    encryption_keys=PII_ENCRYPTION_KEYS, lookup_key=PII_LOOKUP_KEY, secret_key=SECRET_KEY
)
