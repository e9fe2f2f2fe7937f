"""Dashboard URLs of the first-day checklist (namespace "dashboard", under /dashboard/)."""

from django.urls import URLPattern, path

from apps.dashboard.first_day import views

urlpatterns: list[URLPattern] = [
    path("first-day/hours/", views.hours_apply, name="first_day_hours"),
    path("first-day/holidays/", views.holidays, name="first_day_holidays"),
    path("first-day/go-live/", views.go_live, name="first_day_go_live"),
]
