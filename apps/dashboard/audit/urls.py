"""Dashboard URLs of the audit page (namespace "dashboard", under /dashboard/)."""

from django.urls import URLPattern, path

from apps.dashboard.audit import views

urlpatterns: list[URLPattern] = [
    path("audit/", views.audit, name="audit"),
]
