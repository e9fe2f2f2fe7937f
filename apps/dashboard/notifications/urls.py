"""URLs of the notification screens, included by apps/dashboard/urls.py, and of the staff
calendar feed, included by config/urls_tenant.py."""

from django.urls import path, re_path

from apps.dashboard.notifications import views

# Under /dashboard/notifications/ (namespace "notifications").
dashboard_patterns = (
    [
        path("", views.notifications_failed_page, name="failed"),
        path("<uuid:notification_id>/retry/", views.notification_retry_view, name="retry"),
        path("<uuid:notification_id>/resend/", views.notification_resend_view, name="resend"),
    ],
    "notifications",
)

# A resource's calendar feeds, beside its page in "Services & resources" (namespace
# "dashboard", under /dashboard/).
resource_feed_patterns = [
    path(
        "catalogue/resources/<uuid:resource_id>/calendar-feeds/",
        views.calendar_feeds_page,
        name="calendar_feeds",
    ),
    path(
        "catalogue/resources/<uuid:resource_id>/calendar-feeds/<uuid:feed_id>/revoke/",
        views.calendar_feed_revoke_view,
        name="calendar_feed_revoke",
    ),
]

# The staff calendar feed: no login (calendar apps cannot log in); the token is the key.
feed_patterns = [
    re_path(
        r"^calendar/feeds/(?P<token>[A-Za-z0-9_-]{20,100})\.ics$",
        views.resource_calendar_feed,
        name="calendar_feed",
    ),
]
