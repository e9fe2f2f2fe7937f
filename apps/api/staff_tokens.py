"""JWTs for apps acting as a logged-in staff member of one business.

Access tokens last 15 minutes, refresh tokens 7 days; a refresh rotates the refresh
token and blacklists the old one; logout blacklists it (settings.SIMPLE_JWT). Every
token carries the business's schema in claim `tenant` and is refused elsewhere, and the
person must still be a member of the business when a token is issued or refreshed.

Multi-factor: a person with a confirmed authenticator must give its current code as
`otp`; admins must have one (PRODUCT.md §4.8: admins pass TOTP MFA).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.contrib.auth import authenticate
from django_otp import match_token
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password

from apps.accounts.mfa import mfa_has_factor
from apps.accounts.models import Membership, Tenant, User
from apps.accounts.selectors import membership_get
from apps.api.authentication import TENANT_CLAIM
from apps.api.errors import InvalidCredentials, MfaRequired

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


def _pair(refresh: RefreshToken) -> TokenPair:
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))


def _member(user: User, tenant: Tenant) -> Membership:
    membership = membership_get(user=user, tenant=tenant) if user.is_active else None
    if membership is None:
        raise InvalidCredentials()
    return membership


def staff_token_issue(*, tenant: Tenant, email: str, password: str, otp: str = "") -> TokenPair:
    user = authenticate(None, email=(email or "").strip().lower(), password=password)
    if not isinstance(user, User):
        raise InvalidCredentials()
    membership = _member(user, tenant)
    has_device = mfa_has_factor(user)
    if membership.role == Membership.Role.ADMIN and not has_device:
        raise MfaRequired(
            "Admins sign in with a second factor: set up an authenticator app in the "
            "dashboard first, or use an API key."
        )
    if has_device:
        if not otp:
            raise MfaRequired()
        if match_token(user, otp.strip()) is None:
            raise InvalidCredentials()
    refresh = RefreshToken.for_user(user)
    refresh[TENANT_CLAIM] = tenant.schema_name
    logger.info("api.token_issued", extra={"user_id": str(user.pk), "tenant": tenant.slug})
    return _pair(refresh)


def _refresh_token_read(raw: str, *, tenant: Tenant) -> RefreshToken:
    """A valid, not blacklisted refresh token of this business."""
    try:
        refresh = RefreshToken(raw)  # type: ignore[arg-type]
    except TokenError as exc:
        raise InvalidCredentials("The refresh token is not valid or has expired.") from exc
    if refresh.get(TENANT_CLAIM) != tenant.schema_name:
        raise InvalidCredentials("The refresh token is not valid for this business.")
    return refresh


def staff_token_refresh(*, tenant: Tenant, refresh: str) -> TokenPair:
    """A new pair; the refresh token given is blacklisted (rotation)."""
    token = _refresh_token_read(refresh, tenant=tenant)
    user = User.objects.filter(pk=token.get(jwt_settings.USER_ID_CLAIM)).first()
    if user is None:
        raise InvalidCredentials("The refresh token is not valid for this business.")
    if jwt_settings.CHECK_REVOKE_TOKEN and token.get(
        jwt_settings.REVOKE_TOKEN_CLAIM
    ) != get_md5_hash_password(user.password):
        raise InvalidCredentials("The password has changed since: sign in again.")
    _member(user, tenant)
    token.blacklist()
    rotated = RefreshToken.for_user(user)
    rotated[TENANT_CLAIM] = tenant.schema_name
    return _pair(rotated)


def staff_token_revoke(*, tenant: Tenant, refresh: str) -> None:
    """Logout: the refresh token can no longer be used."""
    _refresh_token_read(refresh, tenant=tenant).blacklist()
