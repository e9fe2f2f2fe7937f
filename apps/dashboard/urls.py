"""Every staff screen under /dashboard/: one namespace ("dashboard") for the screens,
and "notifications" for the failed-messages screen (its names predate the dashboard)."""

from django.urls import URLPattern, URLResolver, include, path

from apps.dashboard.audit import urls as audit_urls
from apps.dashboard.availability import urls as availability_urls
from apps.dashboard.billing import urls as billing_urls
from apps.dashboard.bookings import urls as bookings_urls
from apps.dashboard.catalogue import urls as catalogue_urls
from apps.dashboard.customers import urls as customers_urls
from apps.dashboard.embed import urls as embed_urls
from apps.dashboard.first_day import urls as first_day_urls
from apps.dashboard.integrations import urls as integrations_urls
from apps.dashboard.listing import urls as listing_urls
from apps.dashboard.notifications import urls as notifications_urls
from apps.dashboard.reviews import urls as reviews_urls
from apps.dashboard.team import views as team_views
from apps.dashboard.waitlist import urls as waitlist_urls

dashboard_patterns: list[URLPattern | URLResolver] = [
    *bookings_urls.urlpatterns,
    *availability_urls.urlpatterns,
    *catalogue_urls.urlpatterns,
    *customers_urls.urlpatterns,
    *waitlist_urls.urlpatterns,
    *listing_urls.urlpatterns,
    *reviews_urls.urlpatterns,
    *first_day_urls.urlpatterns,
    *notifications_urls.resource_feed_patterns,
    path("team/", team_views.team, name="team"),
    path("team/<uuid:membership_id>/role/", team_views.team_role, name="team_role"),
    path("team/<uuid:membership_id>/remove/", team_views.team_remove, name="team_remove"),
    path("settings/", team_views.tenant_settings, name="settings"),
    *embed_urls.urlpatterns,
    *billing_urls.urlpatterns,
    *audit_urls.urlpatterns,
    path("integrations/", include(integrations_urls.urlpatterns)),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include((dashboard_patterns, "dashboard"))),
    path("notifications/", include(notifications_urls.dashboard_patterns)),
]

# Outside /dashboard/: the staff calendar feed, read by calendar apps that cannot log in.
feed_patterns = notifications_urls.feed_patterns
