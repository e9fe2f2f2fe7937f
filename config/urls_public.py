"""The root domain: landing, signup, login, platform admin, Stripe's webhooks. (`/healthz`
and `/readyz` are answered on every host before routing: config/health.py.)"""

from django.contrib import admin
from django.urls import include, path

from apps.accounts import views
from apps.accounts.urls_auth import auth_patterns
from apps.billing import views as billing_views

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
    path(
        "billing/stripe/connect/webhook/",
        billing_views.stripe_connect_webhook,
        name="stripe_connect_webhook",
    ),
]
