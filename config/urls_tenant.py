"""A tenant's domain: its booking home, staff login, dashboard, tenant admin, health."""

from django.urls import include, path

from apps.accounts import views
from apps.accounts.admin_sites import tenant_admin_site
from apps.accounts.urls_auth import auth_patterns
from config import health

account_patterns = (auth_patterns(after_login="dashboard:home"), "accounts")
dashboard_patterns = ([path("", views.dashboard_home, name="home")], "dashboard")

urlpatterns = [
    path("", views.tenant_home, name="home"),
    path("accounts/", include(account_patterns)),
    path("dashboard/", include(dashboard_patterns)),
    path("admin/", tenant_admin_site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]
