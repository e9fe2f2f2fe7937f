"""JWTs for apps acting as a logged-in staff member of one business.

Access tokens last 15 minutes, refresh tokens 7 days; a refresh rotates the refresh
token and blacklists the old one; logout blacklists it (settings.SIMPLE_JWT). Every
token carries the business's schema in claim `tenant` and is refused elsewhere.

Multi-factor: a person with a confirmed authenticator must give its current code as
`otp`; admins must have one (PRODUCT.md §4.8: admins pass TOTP MFA).

A refresh applies the rules of a sign-in again, except that nobody is there to type a
code: the person must still be a member; an admin must have a second factor; and anyone
who has one now must have given it when the chain of tokens began (claim `amr`, RFC 8176:
`["pwd"]` or `["pwd", "otp"]`). So a manager promoted to admin, or who sets up an
authenticator, signs in again with the code before the next refresh.

A chain of refreshes ends `settings.STAFF_TOKEN_ABSOLUTE_LIFETIME` (7 days) after the
sign-in that began it, however often it rotates: the sign-in time travels through every
rotation as claim `auth_time` (as in OpenID Connect), no refresh token's `exp` goes past
that end, and a refresh after it is refused even if a token says otherwise (the setting
was shortened since). A token from before `auth_time` existed counts from its own `iat`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.utils.translation import gettext as _
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken, Token
from rest_framework_simplejwt.utils import get_md5_hash_password

from apps.accounts.mfa import mfa_has_factor, mfa_token_match
from apps.accounts.models import Membership, Tenant, User
from apps.accounts.selectors import membership_get
from apps.accounts.signin import signin_failed_report
from apps.api.authentication import TENANT_CLAIM
from apps.api.errors import InvalidCredentials, MfaRequired

logger = logging.getLogger(__name__)

# When the person signed in (epoch seconds), unchanged through rotations.
AUTH_TIME_CLAIM = "auth_time"
# How they signed in (RFC 8176 values): a password, and a one-time code when they gave one.
AMR_CLAIM = "amr"
PASSWORD_ONLY = ["pwd"]
PASSWORD_AND_CODE = ["pwd", "otp"]


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


def _member(user: User, tenant: Tenant) -> Membership:
    membership = membership_get(user=user, tenant=tenant) if user.is_active else None
    if membership is None:
        raise InvalidCredentials()
    return membership


def _code_owed(user: User, membership: Membership) -> bool:
    """Whether this member must give a second factor to sign in (the one rule of both
    issuing and refreshing); MfaRequired for an admin who has none to give."""
    has_factor = mfa_has_factor(user)
    if membership.role == Membership.Role.ADMIN and not has_factor:
        raise MfaRequired(
            _(
                "Admins sign in with a second factor: set up an authenticator app in the "
                "dashboard first, or use an API key."
            )
        )
    return has_factor


def _chain_end(auth_time: int) -> datetime:
    """When a chain of tokens that began with a sign-in at `auth_time` ends."""
    lifetime: timedelta = settings.STAFF_TOKEN_ABSOLUTE_LIFETIME
    return datetime.fromtimestamp(auth_time, tz=UTC) + lifetime


def _capped(token: Token, end: datetime) -> Token:
    """The token, expiring no later than `end`."""
    if token["exp"] > int(end.timestamp()):
        token.set_exp(from_time=end, lifetime=timedelta(0))
    return token


def _pair(user: User, *, tenant: Tenant, auth_time: int | None = None, amr: list[str]) -> TokenPair:
    """A new pair for a chain that began at `auth_time` (now: a sign-in)."""
    refresh = RefreshToken.for_user(user)
    if auth_time is None:
        auth_time = int(refresh.current_time.timestamp())
    refresh[TENANT_CLAIM] = tenant.schema_name
    refresh[AUTH_TIME_CLAIM] = auth_time
    refresh[AMR_CLAIM] = amr
    end = _chain_end(auth_time)
    _capped(refresh, end)
    access = _capped(refresh.access_token, end)
    return TokenPair(access=str(access), refresh=str(refresh))


def staff_token_issue(
    *, tenant: Tenant, email: str, password: str, otp: str = "", request: HttpRequest
) -> TokenPair:
    # With the request, django-axes counts a wrong password here as on the login pages.
    user = authenticate(request, email=(email or "").strip().lower(), password=password)
    if not isinstance(user, User):
        raise InvalidCredentials()
    membership = _member(user, tenant)
    code_owed = _code_owed(user, membership)
    if code_owed:
        if not otp:
            raise MfaRequired()
        if mfa_token_match(user=user, code=otp) is None:
            signin_failed_report(request, email=user.email)  # counts towards the lockout
            raise InvalidCredentials()
    logger.info("api.token_issued", extra={"user_id": str(user.pk), "tenant": tenant.slug})
    return _pair(user, tenant=tenant, amr=PASSWORD_AND_CODE if code_owed else PASSWORD_ONLY)


def _refresh_token_read(raw: str, *, tenant: Tenant) -> RefreshToken:
    """A valid, not blacklisted refresh token of this business."""
    try:
        refresh = RefreshToken(raw)  # type: ignore[arg-type]
    except TokenError as exc:
        raise InvalidCredentials(_("The refresh token is not valid or has expired.")) from exc
    if refresh.get(TENANT_CLAIM) != tenant.schema_name:
        raise InvalidCredentials(_("The refresh token is not valid for this business."))
    return refresh


def staff_token_refresh(*, tenant: Tenant, refresh: str) -> TokenPair:
    """A new pair; the refresh token given is blacklisted (rotation). Refused with
    UNAUTHENTICATED once the chain's sign-in is older than the absolute lifetime, and
    with MFA_REQUIRED when a sign-in now would need a code this chain never gave."""
    token = _refresh_token_read(refresh, tenant=tenant)
    user = User.objects.filter(pk=token.get(jwt_settings.USER_ID_CLAIM)).first()
    if user is None:
        raise InvalidCredentials(_("The refresh token is not valid for this business."))
    if jwt_settings.CHECK_REVOKE_TOKEN and token.get(
        jwt_settings.REVOKE_TOKEN_CLAIM
    ) != get_md5_hash_password(user.password):
        raise InvalidCredentials(_("The password has changed since: sign in again."))
    auth_time = int(token.get(AUTH_TIME_CLAIM) or token["iat"])
    if token.current_time >= _chain_end(auth_time):
        logger.info("api.token_chain_ended", extra={"user_id": str(user.pk)})
        raise InvalidCredentials(_("This sign-in is too old to be refreshed again: sign in again."))
    membership = _member(user, tenant)
    amr = list(token.get(AMR_CLAIM) or PASSWORD_ONLY)
    if _code_owed(user, membership) and "otp" not in amr:
        raise MfaRequired(
            _(
                "Sign in again with the code of your authenticator app: this sign-in "
                "was made without it."
            )
        )
    # Two refreshes of one token at once: the blacklist row is unique, and only the
    # request that created it gets a new pair.
    # (simplejwt annotates blacklist() as returning the row; it returns get_or_create's pair)
    outcome: Any = token.blacklist()
    created = bool(outcome[1])
    if not created:
        raise InvalidCredentials(_("This refresh token was already used: sign in again."))
    return _pair(user, tenant=tenant, auth_time=auth_time, amr=amr)


def staff_token_revoke(*, tenant: Tenant, refresh: str) -> None:
    """Logout: the refresh token can no longer be used."""
    _refresh_token_read(refresh, tenant=tenant).blacklist()
