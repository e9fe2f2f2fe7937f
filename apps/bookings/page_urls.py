"""URLs of the customer booking pages (namespace "booking"; the tenant home `/` is
`booking_pages.services_page`, named "home" in config/urls_tenant.py)."""

from django.urls import path

from apps.bookings import booking_pages

urlpatterns = [
    path("book/<str:service_id>/", booking_pages.who_page, name="who"),
    path("book/<str:service_id>/<str:who>/", booking_pages.when_page, name="when"),
    path("book/<str:service_id>/<str:who>/details/", booking_pages.details_page, name="details"),
    path("hold/<str:token>/", booking_pages.hold_page, name="hold"),
    path("hold/<str:token>/release/", booking_pages.release_page, name="release"),
    path("booked/<str:token>/", booking_pages.booked_page, name="booked"),
    path("manage/<str:token>/", booking_pages.manage_page, name="manage"),
    path("manage/<str:token>/cancel/", booking_pages.cancel_page, name="cancel"),
    path("manage/<str:token>/reschedule/", booking_pages.reschedule_page, name="reschedule"),
    path("manage/<str:token>/booking.ics", booking_pages.ics_download, name="ics"),
]
