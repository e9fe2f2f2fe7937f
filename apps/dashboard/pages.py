"""How a dashboard screen answers: the whole page, or only the screen's partial when htmx
swaps it into `#dash-main`. Every screen works as a plain page; htmx only saves reloads."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django_htmx.http import HttpResponseClientRedirect

from apps.accounts.models import Membership


def wants_partial(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    # A history restore after a cache miss must get the whole page back: htmx swaps it
    # in as the body.
    return htmx is not None and bool(htmx) and not htmx.history_restore_request


def render_screen(
    request: HttpRequest,
    *,
    page: str,
    partial: str,
    context: dict[str, Any],
    status: int = 200,
) -> HttpResponse:
    template = partial if wants_partial(request) else page
    return render(request, template, context, status=status)


def redirect_after_post(request: HttpRequest, url: str) -> HttpResponse:
    """Post/redirect/get. Under htmx the browser navigates for real (HX-Redirect) so the
    address bar, the title and the navigation show the page it lands on."""
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return redirect(url)


def request_membership(request: HttpRequest) -> Membership:
    """Set by `membership_required` before any dashboard view runs."""
    membership: Membership = request.membership  # type: ignore[attr-defined]
    return membership
