"""Dashboard URLs of a customer's data (namespace "dashboard"). Under /dashboard/bookings/:
a customer is reached from their bookings, and the navigation keeps "Bookings" current."""

from django.urls import URLPattern, path

from apps.dashboard.customers import views

urlpatterns: list[URLPattern] = [
    path("bookings/customers/export.csv", views.customers_export, name="customers_export"),
    path("bookings/customers/<uuid:customer_id>/", views.customer, name="customer"),
    path(
        "bookings/customers/<uuid:customer_id>/export/",
        views.customer_export_view,
        name="customer_export",
    ),
    path(
        "bookings/customers/<uuid:customer_id>/erase/",
        views.customer_erase_view,
        name="customer_erase",
    ),
]
