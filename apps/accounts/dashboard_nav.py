"""The dashboard's navigation, filtered by the member's role. Screens that other parts
of the product add appear here once their URL exists."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from apps.accounts.models import Membership

R = Membership.Role
SECTIONS: list[tuple[str, str, str]] = [
    ("Today", "dashboard:home", R.FRONTDESK),
    ("Calendar", "dashboard:calendar", R.FRONTDESK),
    ("Bookings", "dashboard:bookings", R.FRONTDESK),
    ("Availability", "dashboard:availability", R.SCHEDULER),
    ("Services & resources", "dashboard:catalogue", R.MANAGER),
    ("Notifications", "notifications:failed", R.FRONTDESK),
    ("Team", "dashboard:team", R.ADMIN),
    ("API & webhooks", "dashboard:integrations", R.ADMIN),
    ("Settings", "dashboard:settings", R.ADMIN),
]


def dashboard_nav(request: HttpRequest) -> dict[str, Any]:
    membership: Membership | None = getattr(request, "membership", None)
    if membership is None:
        return {}
    entries = []
    for label, name, role in SECTIONS:
        if not membership.has_role(role):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        entries.append({"label": label, "url": url, "active": request.path == url})
    return {"dashboard_nav": entries}
