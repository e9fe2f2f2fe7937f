"""Dashboard URLs of the bookings capability (namespace "dashboard", under /dashboard/)."""

from django.urls import URLPattern, path

from apps.dashboard.bookings import new_booking, views

urlpatterns: list[URLPattern] = [
    path("", views.dashboard_today, name="home"),
    path("calendar/", views.calendar, name="calendar"),
    path("bookings/", views.bookings, name="bookings"),
    path("bookings/export.csv", views.bookings_export, name="bookings_export"),
    path("bookings/new/", new_booking.booking_new, name="booking_new"),
    path(
        "bookings/new/customers/",
        new_booking.booking_new_customers,
        name="booking_new_customers",
    ),
    path("bookings/new/times/", new_booking.booking_new_times, name="booking_new_times"),
    path("bookings/<uuid:booking_id>/", views.booking, name="booking"),
    path("bookings/<uuid:booking_id>/confirm/", views.booking_confirm_view, name="booking_confirm"),
    path("bookings/<uuid:booking_id>/cancel/", views.booking_cancel_view, name="booking_cancel"),
    path(
        "bookings/<uuid:booking_id>/reschedule/",
        views.booking_reschedule_view,
        name="booking_reschedule",
    ),
    path(
        "bookings/<uuid:booking_id>/completed/",
        views.booking_completed_view,
        name="booking_completed",
    ),
    path("bookings/<uuid:booking_id>/no-show/", views.booking_no_show_view, name="booking_no_show"),
    path("availability/conflicts/", views.conflicts, name="conflicts"),
]
