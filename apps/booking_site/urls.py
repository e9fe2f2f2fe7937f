"""URLs of the customer booking pages (namespace "booking"; the tenant home `/` is
`views.services_page`, named "home" in config/urls_tenant.py)."""

from django.urls import path

from apps.booking_site import review_pages, views, waitlist

urlpatterns = [
    path("book/<str:service_id>/", views.who_page, name="who"),
    path("book/<str:service_id>/<str:who>/", views.when_page, name="when"),
    path("book/<str:service_id>/<str:who>/details/", views.details_page, name="details"),
    path("book/<str:service_id>/<str:who>/waitlist/", waitlist.join_page, name="waitlist"),
    path("waitlist/offer/<str:token>/", waitlist.offer_page, name="waitlist_offer"),
    path("hold/<str:token>/", views.hold_page, name="hold"),
    path("hold/<str:token>/release/", views.release_page, name="release"),
    path("hold/<str:token>/pay/", views.pay_page, name="pay"),
    path("booked/<str:token>/", views.booked_page, name="booked"),
    path("manage/<str:token>/", views.manage_page, name="manage"),
    path("manage/<str:token>/cancel/", views.cancel_page, name="cancel"),
    path("manage/<str:token>/reschedule/", views.reschedule_page, name="reschedule"),
    path("manage/<str:token>/booking.ics", views.ics_download, name="ics"),
    path("review/<str:token>/", review_pages.review_page, name="review"),
    path("reviews/", review_pages.reviews_page, name="reviews"),
]
