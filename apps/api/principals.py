"""Who is calling the API, whatever the credential: an API key, a staff member (JWT or
dashboard session), or — for one booking only — the customer holding its token.

Roles of keys and of staff memberships fall on one ladder, so a view states the least
role it needs once: readonly < frontdesk < scheduler < manager < admin.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from apps.accounts.models import Membership, User
from apps.api.models import ApiKey
from apps.bookings.actors import ActorRef

READONLY = "readonly"
FRONTDESK = Membership.Role.FRONTDESK.value
SCHEDULER = Membership.Role.SCHEDULER.value
MANAGER = Membership.Role.MANAGER.value
ADMIN = Membership.Role.ADMIN.value

ROLE_RANK: dict[str, int] = {
    READONLY: 0,
    FRONTDESK: 1,
    SCHEDULER: 2,
    MANAGER: 3,
    ADMIN: 4,
}


@dataclass(frozen=True)
class Principal:
    """A tenant-scoped caller: an API key or a member of the business."""

    role: str
    actor: ActorRef
    # Bucket of the rate limit: one per key, one per person.
    throttle_scope: str
    throttle_ident: str
    api_key: ApiKey | None = None
    user: User | None = None

    def has_role(self, minimum: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[minimum]

    @classmethod
    def of_api_key(cls, key: ApiKey) -> Principal:
        return cls(
            role=key.role,
            actor=ActorRef.api_key(str(key.pk), label=key.name or key.prefix),
            throttle_scope="api_key",
            throttle_ident=key.prefix,  # known before the key is read (apps/api/fast_reads.py)
            api_key=key,
        )

    @classmethod
    def of_member(cls, membership: Membership) -> Principal:
        user = membership.user
        return cls(
            role=membership.role,
            actor=ActorRef.staff(str(user.pk), label=user.full_name or user.email),
            throttle_scope="user",
            throttle_ident=str(user.pk),
            user=user,
        )


@dataclass(frozen=True)
class BookingGrant:
    """What a booking token proves: its holder may see and change this one booking."""

    booking_id: uuid.UUID

    @property
    def actor(self) -> ActorRef:
        return ActorRef.customer("", label="booking token")


class ApiKeyUser:
    """`request.user` for calls made with an API key: authenticated, but no person.
    Django's permission API is never consulted for it (roles are checked on the
    Principal)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, key: ApiKey) -> None:
        self.api_key = key

    def __str__(self) -> str:
        return f"API key {self.api_key.prefix}"

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return False
