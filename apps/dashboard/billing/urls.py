from django.urls import URLPattern, path

from apps.dashboard.billing import views

urlpatterns: list[URLPattern] = [
    path("billing/", views.billing, name="billing"),
    path("billing/free/", views.billing_choose_free, name="billing_choose_free"),
    path("billing/plan/<slug:plan_code>/", views.billing_choose_paid, name="billing_choose_paid"),
    path("billing/portal/", views.billing_portal, name="billing_portal"),
    path("billing/connect/", views.billing_connect, name="billing_connect"),
]
