"""Dashboard URLs of "Services & resources" (namespace "dashboard", under /dashboard/)."""

from django.urls import URLPattern, path

from apps.dashboard.catalogue import question_views, views

urlpatterns: list[URLPattern] = [
    path("catalogue/", views.catalogue, name="catalogue"),
    path("catalogue/locations/new/", views.location_create_view, name="location_create"),
    path("catalogue/locations/<uuid:location_id>/", views.location_edit_view, name="location_edit"),
    path("catalogue/resources/new/", views.resource_create_view, name="resource_create"),
    path("catalogue/resources/<uuid:resource_id>/", views.resource_edit_view, name="resource_edit"),
    path("catalogue/services/new/", views.service_create_view, name="service_create"),
    path("catalogue/services/<uuid:service_id>/", views.service_edit_view, name="service_edit"),
    path(
        "catalogue/services/<uuid:service_id>/questions/new/",
        question_views.question_create_view,
        name="question_create",
    ),
    path(
        "catalogue/questions/<uuid:question_id>/",
        question_views.question_edit_view,
        name="question_edit",
    ),
    path(
        "catalogue/questions/<uuid:question_id>/move/",
        question_views.question_move_view,
        name="question_move",
    ),
    path(
        "catalogue/questions/<uuid:question_id>/remove/",
        question_views.question_remove_view,
        name="question_remove",
    ),
]
