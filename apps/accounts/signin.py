"""Signing in and staying signed in: what django-axes asks of us, idle staff sessions,
"sign out everywhere", and the sign-in events the logs keep.

Password guessing is counted by django-axes (settings: AXES_*) on every surface that
calls `authenticate()` with the request: the login page on every host, both admin
logins and the staff token endpoint. Failures are kept in PostgreSQL (public schema), so
a lockout holds while Redis is down. A second factor typed wrong on the admin login
counts as a failed sign-in too (`signin_failed_report`).
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.db.models import F
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from apps.accounts.models import Membership, User
from apps.core.rate_limits import address_bucket, client_address, client_ident

logger = logging.getLogger(__name__)

IDLE_LIMIT_KEY = "_idle_limit_s"
LAST_SEEN_KEY = "_last_seen"
# The session is written at most once a minute to note activity.
LAST_SEEN_RESOLUTION_S = 60


def signin_username(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str:
    """The account a sign-in attempt is for, as axes counts it: the email, lower case,
    whichever form or endpoint it came through."""
    for source in (credentials or {}, getattr(request, "POST", None) or {}):
        for field in ("username", "email"):
            value = source.get(field)
            if value:
                return str(value).strip().lower()
    return ""


def signin_client_address(request: HttpRequest) -> str | None:
    """The client as axes records it (AXES_CLIENT_IP_CALLABLE): an address, since its
    column holds one. An IPv6 client counts as its /64's first address, so a subscriber
    who picks a new address for every attempt is still one client; no usable address:
    None (the attempt counts by account only)."""
    bucket = address_bucket(client_address(request))
    try:
        return str(ipaddress.ip_network(bucket, strict=False).network_address)
    except ValueError:
        return None


def signin_failed_report(request: HttpRequest, *, email: str) -> None:
    """Counts a failed sign-in that `authenticate()` did not see (a right password with a
    wrong second factor), so guessing codes is limited like guessing passwords."""
    user_login_failed.send(sender=__name__, credentials={"username": email}, request=request)


def idle_limit_seconds(user: User) -> int:
    """How long this person's session may stay unused: short for anyone who administers
    a business or the platform, a working day for everyone else."""
    is_admin = (
        user.is_staff or Membership.objects.filter(user=user, role=Membership.Role.ADMIN).exists()
    )
    minutes = (
        settings.STAFF_IDLE_TIMEOUT_ADMIN_MINUTES
        if is_admin
        else settings.STAFF_IDLE_TIMEOUT_MINUTES
    )
    return int(minutes) * 60


class StaffIdleTimeoutMiddleware:
    """Signs a session out after its idle limit (decided at sign-in, see
    `_session_start`); the next page asks for the password and the second factor again."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        # Only requests that carry a session cookie can be signed in; the API's token
        # and key requests never load a session here.
        if session is not None and settings.SESSION_COOKIE_NAME in request.COOKIES:
            self._check(request)
        return self.get_response(request)

    @staticmethod
    def _check(request: HttpRequest) -> None:
        session = request.session
        limit = session.get(IDLE_LIMIT_KEY)
        now = int(time.time())
        if limit is None:
            # A session made before idle limits existed gets one from now on.
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                session[IDLE_LIMIT_KEY] = idle_limit_seconds(user)
                session[LAST_SEEN_KEY] = now
            return
        last_seen = int(session.get(LAST_SEEN_KEY, now))
        if now - last_seen > int(limit):
            logger.info("signin.idle_timeout", extra={"idle_s": now - last_seen})
            logout(request)
            return
        if now - last_seen >= LAST_SEEN_RESOLUTION_S:
            session[LAST_SEEN_KEY] = now


@receiver(user_logged_in, dispatch_uid="accounts.signin.session_start")
def _session_start(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[IDLE_LIMIT_KEY] = idle_limit_seconds(user)
        request.session[LAST_SEEN_KEY] = int(time.time())
    logger.info(
        "signin.succeeded",
        extra={"user_id": str(user.pk), "client": client_ident(request) if request else ""},
    )


@receiver(user_login_failed, dispatch_uid="accounts.signin.failed_log")
def _failed_log(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # The account is named by id when it exists; a typed address that is not an
    # account is not logged (it may be someone's password typed in the wrong box).
    email = signin_username(None, credentials)
    user_id = User.objects.filter(email=email).values_list("pk", flat=True).first()
    logger.info(
        "signin.failed",
        extra={
            "user_id": str(user_id) if user_id else None,
            "client": client_ident(request) if request is not None else "",
        },
    )


@receiver(user_logged_out, dispatch_uid="accounts.signin.logged_out")
def _logged_out(sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any) -> None:
    if user is not None:
        logger.info("signin.signed_out", extra={"user_id": str(user.pk)})


@transaction.atomic
def sessions_end_everywhere(*, user: User) -> None:
    """Signs this person out of every browser (each session's hash stops matching) and
    revokes every staff API refresh token issued to them."""
    User.objects.filter(pk=user.pk).update(sessions_generation=F("sessions_generation") + 1)
    user.refresh_from_db(fields=["sessions_generation"])
    _refresh_tokens_revoke(user)
    logger.info("signin.signed_out_everywhere", extra={"user_id": str(user.pk)})


def _refresh_tokens_revoke(user: User) -> None:
    outstanding = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )
