"""Who may read metrics: the one rule of the web's /metrics (config/metrics.py) and of a
Celery worker's or beat's own endpoint (config/celery_metrics.py). Imports no app, so
that the Celery app can serve metrics without pulling in the apps /metrics reads."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from django.conf import settings
from django.utils.translation import gettext as _


def scrape_refusal(authorization: str, *, loopback: Callable[[], bool]) -> tuple[int, str] | None:
    """Why a scrape is refused (status and message), or None when it may read: with
    METRICS_TOKEN set, only `Authorization: Bearer <token>` (compared in constant time);
    without it, only a client on this machine (`loopback`, asked only then)."""
    token = str(getattr(settings, "METRICS_TOKEN", "") or "")
    if token:
        scheme, _space, given = authorization.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return 401, _("A valid metrics token is required.")
    elif not loopback():
        return 403, _("Metrics are served to this machine only.")
    return None
