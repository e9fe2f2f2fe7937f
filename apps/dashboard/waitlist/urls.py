"""Dashboard URLs of the waitlist (namespace "dashboard", under /dashboard/)."""

from django.urls import URLPattern, path

from apps.dashboard.waitlist import views

urlpatterns: list[URLPattern] = [
    path("waitlist/", views.waitlist, name="waitlist"),
    path("waitlist/add/", views.waitlist_add, name="waitlist_add"),
    path("waitlist/<uuid:entry_id>/move/", views.waitlist_move, name="waitlist_move"),
    path("waitlist/<uuid:entry_id>/remove/", views.waitlist_remove, name="waitlist_remove"),
    path("waitlist/settings/", views.waitlist_settings, name="waitlist_settings"),
]
