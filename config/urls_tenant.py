"""A tenant's domain: its booking home, staff login, dashboard, tenant admin, integrator
API, health."""

from django.urls import URLPattern, URLResolver, include, path

from apps.accounts import dashboard_views
from apps.accounts.admin_sites import tenant_admin_site
from apps.accounts.urls_auth import auth_patterns
from apps.api import integrations_urls
from apps.api import urls as api_urls
from apps.bookings import booking_pages
from apps.bookings import dashboard_urls as booking_dashboard_urls
from apps.bookings import page_urls as booking_page_urls
from apps.calendars import dashboard_urls as calendar_dashboard_urls
from apps.notifications import urls as notification_urls
from apps.resources import dashboard_urls as resource_dashboard_urls
from config import health

account_patterns = (auth_patterns(after_login="dashboard:home"), "accounts")
dashboard_patterns: tuple[list[URLPattern | URLResolver], str] = (
    [
        *booking_dashboard_urls.urlpatterns,
        *calendar_dashboard_urls.urlpatterns,
        *resource_dashboard_urls.urlpatterns,
        *notification_urls.resource_feed_patterns,
        path("team/", dashboard_views.team, name="team"),
        path("team/<uuid:membership_id>/role/", dashboard_views.team_role, name="team_role"),
        path("team/<uuid:membership_id>/remove/", dashboard_views.team_remove, name="team_remove"),
        path("settings/", dashboard_views.tenant_settings, name="settings"),
        path("integrations/", include(integrations_urls.urlpatterns)),
    ],
    "dashboard",
)

urlpatterns = [
    path("", booking_pages.services_page, name="home"),
    path("", include((booking_page_urls.urlpatterns, "booking"))),
    path("accounts/", include(account_patterns)),
    path("dashboard/", include(dashboard_patterns)),
    path("dashboard/notifications/", include(notification_urls.dashboard_patterns)),
    *notification_urls.feed_patterns,
    path("admin/", tenant_admin_site.urls),
    # /api/v1/…, /api/schema/, /api/docs/, /api/redoc/ (unknown /api/ paths: JSON 404).
    path("api/", include((api_urls.urlpatterns, "api"))),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]
