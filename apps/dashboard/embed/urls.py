"""Dashboard URL of "Embed on your website" (namespace "dashboard", under /dashboard/;
inside Settings, so the navigation keeps Settings current)."""

from django.urls import URLPattern, path

from apps.dashboard.embed import views

urlpatterns: list[URLPattern] = [
    path("settings/embed/", views.embed_settings, name="embed"),
    path("settings/embed/snippet/", views.embed_snippet, name="embed_snippet"),
]
