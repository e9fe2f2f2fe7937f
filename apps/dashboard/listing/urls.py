"""Dashboard URLs of the directory listing (namespace "dashboard", under /dashboard/)."""

from django.urls import URLPattern, path

from apps.dashboard.listing import views

urlpatterns: list[URLPattern] = [
    path("listing/", views.listing, name="listing"),
    path("listing/<uuid:resource_id>/", views.listing_resource, name="listing_resource"),
]
