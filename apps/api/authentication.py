"""How API callers prove who they are, in the order DRF tries them:

1. `Authorization: Bearer tn_…` — a tenant API key (apps/api/services.py);
2. `Authorization: Bearer <JWT>` — a staff member's access token, valid only on the
   business it was issued for (claim `tenant`) while the person is still a member;
3. the dashboard's session cookie, with CSRF enforced, for members of the business;
4. on booking endpoints only, `X-Booking-Token` — a customer's token for one booking,
   until its booking's end plus BOOKING_LINK_GRACE_DAYS (apps/bookings/access_tokens.py).

A credential that does not hold here (unknown, revoked, forged, another business's)
is a 401; a missing one leaves the caller anonymous.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db import connection
from rest_framework.authentication import (
    BaseAuthentication,
    SessionAuthentication,
    get_authorization_header,
)
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication

from apps.accounts.mfa import mfa_step_pending
from apps.accounts.models import Membership, Tenant, User
from apps.accounts.selectors import membership_get
from apps.api.principals import ApiKeyUser, BookingGrant, Principal
from apps.api.services import api_key_authenticate, looks_like_api_key
from apps.bookings.access_tokens import HEADER as BOOKING_TOKEN_HEADER
from apps.bookings.access_tokens import booking_access_read
from apps.bookings.errors import BookingLinkExpired
from apps.core.tenancy import current_schema

TENANT_CLAIM = "tenant"
WWW_AUTHENTICATE = 'Bearer realm="api"'


def _tenant_of(request: Request | Any) -> Tenant | None:
    tenant = getattr(request, "tenant", None) or getattr(connection, "tenant", None)
    return tenant if isinstance(tenant, Tenant) else None


def _membership(request: Request | Any, user: User) -> Membership | None:
    tenant = _tenant_of(request)
    if tenant is None or not user.is_active:
        return None
    return membership_get(user=user, tenant=tenant)


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ApiKeyUser, Principal] | None:
        parts = get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != b"bearer":
            return None
        try:
            presented = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("The bearer credential is not readable.") from None
        if not looks_like_api_key(presented):
            return None  # a JWT: the next class decides
        key = api_key_authenticate(presented=presented)
        if key is None:
            raise AuthenticationFailed("This API key is not valid for this business.")
        return ApiKeyUser(key), Principal.of_api_key(key)

    def authenticate_header(self, request: Request) -> str:
        return WWW_AUTHENTICATE


class TenantJWTAuthentication(JWTAuthentication):
    """simplejwt's access tokens, bound to the business that issued them."""

    def authenticate(self, request: Request) -> tuple[User, Principal] | None:  # type: ignore[override]
        result = super().authenticate(request)
        if result is None:
            return None
        user, token = result
        if token.get(TENANT_CLAIM) != current_schema():
            raise AuthenticationFailed("This token is not valid for this business.")
        if not isinstance(user, User):
            raise AuthenticationFailed("This token is not valid for this business.")
        membership = _membership(request, user)
        if membership is None:
            raise AuthenticationFailed("This token is not valid for this business.")
        return user, Principal.of_member(membership)

    def authenticate_header(self, request: Request) -> str:
        return WWW_AUTHENTICATE


class TenantSessionAuthentication(SessionAuthentication):
    """The dashboard's own calls. A signed-in person who is not a member of this
    business is anonymous here, and so is a member who still owes the dashboard's
    second factor (apps.accounts.mfa) until they pass it."""

    def authenticate(self, request: Request) -> tuple[User, Principal] | None:
        user = getattr(request._request, "user", None)
        if not isinstance(user, User) or not user.is_active:
            return None
        membership = _membership(request._request, user)
        if membership is None:
            return None
        self.enforce_csrf(request)
        if mfa_step_pending(user=user, membership=membership) is not None:
            # Anonymous until they pass it: public calls answer as for anyone, and what
            # needs a member answers MFA_REQUIRED (ApiView.permission_denied).
            request._request.mfa_pending = True  # type: ignore[attr-defined]
            return None
        return user, Principal.of_member(membership)


class BookingTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[AnonymousUser, BookingGrant] | None:
        token = request.headers.get(BOOKING_TOKEN_HEADER)
        if token is None:
            return None
        try:
            booking_id = booking_access_read(token.strip(), surface="api")
        except BookingLinkExpired:
            raise AuthenticationFailed(
                "This booking token has expired: its booking ended a while ago. "
                "Contact the business about it.",
                code="booking_token_expired",
            ) from None
        if booking_id is None:
            raise AuthenticationFailed("This booking token is not valid for this business.")
        return AnonymousUser(), BookingGrant(booking_id=booking_id)

    def authenticate_header(self, request: Request) -> str:
        return WWW_AUTHENTICATE
