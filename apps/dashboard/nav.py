"""The dashboard's navigation, filtered by the member's role. Screens that other parts
of the product add appear here once their URL exists."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from apps.accounts.models import Membership

R = Membership.Role
SECTIONS: list[tuple[str | Promise, str, str]] = [
    (gettext_lazy("Today"), "dashboard:home", R.FRONTDESK),
    (gettext_lazy("Calendar"), "dashboard:calendar", R.FRONTDESK),
    (gettext_lazy("Bookings"), "dashboard:bookings", R.FRONTDESK),
    (gettext_lazy("Waitlist"), "dashboard:waitlist", R.FRONTDESK),
    (gettext_lazy("Availability"), "dashboard:availability", R.SCHEDULER),
    (gettext_lazy("Services & resources"), "dashboard:catalogue", R.MANAGER),
    (gettext_lazy("Directory listing"), "dashboard:listing", R.MANAGER),
    (gettext_lazy("Reviews"), "dashboard:reviews", R.MANAGER),
    (gettext_lazy("Notifications"), "notifications:failed", R.FRONTDESK),
    (gettext_lazy("Team"), "dashboard:team", R.ADMIN),
    (gettext_lazy("API & webhooks"), "dashboard:integrations", R.ADMIN),
    (gettext_lazy("Settings"), "dashboard:settings", R.ADMIN),
    (gettext_lazy("Billing"), "dashboard:billing", R.ADMIN),
    (gettext_lazy("Audit"), "dashboard:audit", R.ADMIN),
]


def dashboard_nav(request: HttpRequest) -> dict[str, Any]:
    membership: Membership | None = getattr(request, "membership", None)
    if membership is None:
        return {}
    entries: list[dict[str, Any]] = []
    for label, name, role in SECTIONS:
        if not membership.has_role(role):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        entries.append({"label": label, "url": url, "active": False})
    # A screen inside a section (a booking, a rule's form) keeps its section current: the
    # longest section URL the path starts with wins, so "Today" (/dashboard/, a prefix of
    # every screen) is current only where no other section claims the page.
    current = max(
        (entry for entry in entries if request.path.startswith(entry["url"])),
        key=lambda entry: len(entry["url"]),
        default=None,
    )
    if current is not None:
        current["active"] = True
    return {"dashboard_nav": entries}
