"""The root domain: landing, signup, login, platform admin, Stripe's webhooks. (`/healthz`
and `/readyz` are answered on every host before routing: config/health.py.)"""

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from apps.accounts import views
from apps.accounts.urls_auth import auth_patterns
from apps.api import urls_public as api_public_urls
from apps.billing import views as billing_views
from apps.booking_site import find as directory_find

account_patterns = (
    [
        *auth_patterns(after_login="accounts:workspaces"),
        path("workspaces/", views.workspaces, name="workspaces"),
    ],
    "accounts",
)

urlpatterns = [
    path("", views.landing, name="landing"),
    path("signup/", views.signup, name="signup"),
    path("signup/confirm/<str:token>/", views.signup_confirm, name="signup_confirm"),
    path("accounts/", include(account_patterns)),
    path("admin/", admin.site.urls),
    path("billing/stripe/webhook/", billing_views.stripe_webhook, name="stripe_webhook"),
    # The public directory: its search page and its API (/api/v1/directory/providers).
    path("find/", directory_find.find_page, name="find"),
    path("api/", include((api_public_urls.urlpatterns, "api"))),
    path(
        "billing/stripe/connect/webhook/",
        billing_views.stripe_connect_webhook,
        name="stripe_connect_webhook",
    ),
]
# Listing photos as local files in development (DEBUG only; empty otherwise).
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
