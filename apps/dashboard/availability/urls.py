"""Dashboard URLs of the availability screens (namespace "dashboard", under /dashboard/)."""

from django.urls import URLPattern, path

from apps.dashboard.availability import views

urlpatterns: list[URLPattern] = [
    path("availability/", views.availability, name="availability"),
    path("availability/rules/new/", views.rule_create, name="rule_create"),
    path("availability/rules/<uuid:rule_id>/", views.rule_edit, name="rule_edit"),
    path("availability/rules/<uuid:rule_id>/delete/", views.rule_delete, name="rule_delete"),
    path("availability/slots/", views.slots, name="slots"),
]
