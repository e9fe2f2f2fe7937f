"""A tenant's domain: its booking home, staff login, dashboard, tenant admin, integrator
API. (`/healthz` and `/readyz` are answered on every host before routing: config/health.py.)"""

from django.conf import settings
from django.conf.urls.static import static
from django.urls import include, path

from apps.accounts.admin_sites import tenant_admin_site
from apps.accounts.urls_auth import auth_patterns
from apps.api import urls as api_urls
from apps.booking_site import embed_urls as booking_site_embed_urls
from apps.booking_site import urls as booking_site_urls
from apps.booking_site import views as booking_site_views
from apps.dashboard import urls as dashboard_urls

account_patterns = (auth_patterns(after_login="dashboard:home"), "accounts")

urlpatterns = [
    path("", booking_site_views.services_page, name="home"),
    path("", include((booking_site_urls.urlpatterns, "booking"))),
    # The same pages in a frame on the business's site (apps/booking_site/embed.py).
    path("embed/", include((booking_site_embed_urls.urlpatterns, "embed"))),
    path("accounts/", include(account_patterns)),
    path("dashboard/", include(dashboard_urls.urlpatterns)),
    *dashboard_urls.feed_patterns,
    path("admin/", tenant_admin_site.urls),
    # /api/v1/…, /api/schema/, /api/docs/, /api/redoc/ (unknown /api/ paths: JSON 404).
    path("api/", include((api_urls.urlpatterns, "api"))),
]
# Listing photos as local files in development (DEBUG only; empty otherwise).
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
