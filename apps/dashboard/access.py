"""Who may enter a tenant's staff pages. Across tenants the answer is 404, never 403;
admins (and anyone who has set one up) pass a second factor first (apps.accounts.mfa;
an admin of a business not yet live sets it up as a step of the first-day checklist).
Whatever a screen looks up and does not find (NotFound from a selector or a service) is
a 404 too, here once rather than in every view."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase

from apps.accounts.mfa import MFA_ENROL, mfa_enrol_deferred, mfa_step_pending
from apps.accounts.mfa_views import mfa_step_redirect
from apps.accounts.models import Membership
from apps.accounts.selectors import membership_get, tenant_current
from apps.bookings.actors import ActorRef
from apps.core.access import not_found_as_404


def membership_required(
    role: str = Membership.Role.FRONTDESK, *, factor_before_live: bool = False
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """`factor_before_live`: this screen makes access or money that outlives the set-up
    (API keys and webhooks, the payment account, customers' data), so an admin sets up
    the second factor before it opens even while the business is not live yet; other
    screens open for such an admin (apps.accounts.mfa.mfa_enrol_deferred)."""

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        # A screen asked for something that does not exist here answers 404.
        screen = not_found_as_404(view)

        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = membership_get(user=request.user, tenant=tenant_current())
            if membership is None:
                raise Http404("No such page.")
            step = mfa_step_pending(user=request.user, membership=membership)
            if (
                step == MFA_ENROL
                and not factor_before_live
                and mfa_enrol_deferred(membership=membership)
            ):
                step = None
            if step is not None:
                return mfa_step_redirect(request, step)
            if not membership.has_role(role):
                raise PermissionDenied("Your role does not include this page.")
            request.membership = membership  # type: ignore[attr-defined]
            return screen(request, *args, **kwargs)

        return wrapped

    return decorator


def membership_passes(request: HttpRequest, role: str, *, factor_before_live: bool = False) -> bool:
    """Whether the member a screen let in would also pass
    `membership_required(role, factor_before_live=...)`: for a screen that gives some of
    its members more (the bookings export's intake answers)."""
    membership = request_membership(request)
    if not request.user.is_authenticated or not membership.has_role(role):
        return False
    step = mfa_step_pending(user=request.user, membership=membership)
    if step == MFA_ENROL and not factor_before_live and mfa_enrol_deferred(membership=membership):
        step = None
    return step is None


def request_membership(request: HttpRequest) -> Membership:
    """Set by `membership_required` before any dashboard view runs."""
    membership: Membership = request.membership  # type: ignore[attr-defined]
    return membership


def request_actor(request: HttpRequest) -> ActorRef:
    """The signed-in staff member, as the actor the services record in the history."""
    user = request.user
    return ActorRef.staff(str(user.pk), label=user.full_name or user.email)  # type: ignore[union-attr]
