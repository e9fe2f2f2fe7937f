"""Who may call what. Reads need any role of the business; writes name the least role.

| surface                                   | reads     | writes    |
|-------------------------------------------|-----------|-----------|
| catalogue (locations, resources, services) | readonly  | manager   |
| availability rules, slot generation        | readonly  | scheduler |
| bookings                                   | readonly  | frontdesk |
| API keys                                   | admin     | admin     |
| webhook endpoints and deliveries           | admin     | admin     |
| a customer's data (export, erasure)        | admin     | admin     |

API key roles sit on the same ladder: `admin` keys may do everything, `frontdesk`
keys manage bookings, `readonly` keys only read.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from apps.api.principals import ADMIN, READONLY, BookingGrant, Principal


def principal_of(request: Request) -> Principal | None:
    auth = request.auth
    return auth if isinstance(auth, Principal) else None


class IsTenantPrincipal(BasePermission):
    """Any API key or member of this business (the default)."""

    message = "Your credentials do not give access to this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return principal_of(request) is not None


class _RolePermission(BasePermission):
    read_role = READONLY
    write_role = ADMIN
    message = "Your role does not allow this."

    def has_permission(self, request: Request, view: Any) -> bool:
        principal = principal_of(request)
        if principal is None:
            return False
        needed = self.read_role if request.method in SAFE_METHODS else self.write_role
        return principal.has_role(needed)


def role_required(*, write: str, read: str = READONLY) -> type[BasePermission]:
    """A permission class: `read` for safe methods, `write` for the others."""
    return type(
        f"Requires{write.title()}Role", (_RolePermission,), {"read_role": read, "write_role": write}
    )


class CanAccessBooking(BasePermission):
    """Staff and keys by role (reads: readonly, changes: frontdesk); a customer's
    booking token only for the booking it was issued for. A token for another booking
    gets 404, as if the booking did not exist."""

    message = "Your role does not allow this."

    def __init__(self, *, write_role: str) -> None:
        self.write_role = write_role

    def has_permission(self, request: Request, view: Any) -> bool:
        principal = principal_of(request)
        if principal is not None:
            needed = READONLY if request.method in SAFE_METHODS else self.write_role
            return principal.has_role(needed)
        grant = request.auth
        if isinstance(grant, BookingGrant):
            if str(grant.booking_id) != str(view.kwargs.get("booking_id")):
                raise NotFound(_("No such booking."))
            return True
        return False
