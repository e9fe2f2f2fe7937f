"""Dashboard URLs of the business's reviews (namespace "dashboard", under /dashboard/)."""

from django.urls import URLPattern, path

from apps.dashboard.reviews import views

urlpatterns: list[URLPattern] = [
    path("reviews/", views.reviews, name="reviews"),
    path("reviews/<uuid:review_id>/reply/", views.review_reply_view, name="review_reply"),
    path("reviews/<uuid:review_id>/report/", views.review_report_view, name="review_report"),
]
