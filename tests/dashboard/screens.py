"""Every dashboard screen, with the least role that may open it."""

from __future__ import annotations

from django.urls import reverse

HOST = "acme.localhost"
ROLES = ["frontdesk", "scheduler", "manager", "admin"]
RANK = {role: rank for rank, role in enumerate(ROLES, start=1)}

# (url name, minimum role, text the screen shows, the URL's id keyword or None)
SCREENS = [
    ("dashboard:home", "frontdesk", "Bookings per day", None),
    ("dashboard:calendar", "frontdesk", "Calendar", None),
    ("dashboard:bookings", "frontdesk", "Bookings", None),
    ("dashboard:booking_new", "frontdesk", "New booking", None),
    ("dashboard:waitlist", "frontdesk", "Nobody is waiting", None),
    ("dashboard:booking", "frontdesk", "History", "booking_id"),
    ("dashboard:booking_reschedule", "frontdesk", "Free times on", "booking_id"),
    ("dashboard:conflicts", "scheduler", "Bookings outside opening hours", None),
    ("dashboard:availability", "scheduler", "Availability", None),
    ("dashboard:rule_create", "scheduler", "Add weekly hours", None),
    ("dashboard:rule_edit", "scheduler", "Edit weekly hours", "rule_id"),
    ("dashboard:slots", "scheduler", "Slots of", None),
    ("dashboard:catalogue", "manager", "Services &amp; resources", None),
    ("dashboard:location_create", "manager", "Add a location", None),
    ("dashboard:location_edit", "manager", "Save location", "location_id"),
    ("dashboard:resource_create", "manager", "Add a resource", None),
    ("dashboard:resource_edit", "manager", "Save resource", "resource_id"),
    ("dashboard:service_create", "manager", "Add a service", None),
    ("dashboard:service_edit", "manager", "Save service", "service_id"),
    ("dashboard:question_create", "manager", "Add a question to", "service_id"),
    ("dashboard:question_edit", "manager", "Save question", "question_id"),
    ("dashboard:calendar_feeds", "manager", "Calendar feeds of", "resource_id"),
    ("dashboard:listing", "manager", "Save listing", None),
    ("dashboard:listing_resource", "manager", "Save this listing", "resource_id"),
    ("dashboard:reviews", "manager", "reply once to each review", None),
    ("dashboard:settings", "admin", "Save settings", None),
    ("dashboard:embed", "admin", "Save websites", None),
    ("dashboard:embed_snippet", "admin", "Copy this into your website", None),
    ("dashboard:team", "admin", "Invite someone", None),
    ("dashboard:billing", "admin", "Plan and billing", None),
    ("dashboard:audit", "admin", "Audit trail", None),
    ("dashboard:first_day_holidays", "admin", "Public holidays", None),
    ("dashboard:customer", "admin", "Export data (JSON)", "customer_id"),
    ("dashboard:customer_erase", "admin", "What will happen", "customer_id"),
]


def screen_url(name: str, key: str | None, ids: dict[str, str]) -> str:
    return reverse(name, kwargs={key: ids[key]} if key else None)
