"""Bookings and customers in the tenant's admin (support look-ups).

Contact data appears masked only; searching by a full email address or phone number
hashes the query and matches the lookup hash, so the clear text is never compared (or
stored) anywhere. Status changes go through the services, never through a form: the
booking form edits notes only.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.accounts.admin_sites import ReadOnlyAdmin, tenant_admin_site
from apps.bookings import pii, selectors
from apps.bookings.models import Booking, BookingEvent, Customer, Payment


def _customer_matches(search_term: str) -> QuerySet[Customer] | None:
    """Customers matching an exact email or phone; None when the term is neither."""
    term = search_term.strip()
    if "@" in term:
        customer = selectors.customer_find_by_email(email=term)
    elif term.startswith("+") or term.replace(" ", "").isdigit():
        customer = selectors.customer_find_by_phone(phone=term)
    else:
        return None
    return Customer.objects.filter(pk=customer.pk) if customer else Customer.objects.none()


_EVENT_FIELDS = (
    "created_at",
    "kind",
    "from_starts_at",
    "to_starts_at",
    "reason",
    "actor_type",
    "actor_label",
)
_BOOKING_FIELDS = (
    "id",
    "status",
    "service",
    "resource",
    "starts_at",
    "ends_at",
    "customer_name",
    "customer_email",
    "customer_phone",
    "hold_expires_at",
    "payment_status",
    "source",
    "created_by_type",
    "created_by_id",
    "cancellation_reason",
    "sequence",
    "exclusive",
    "notes",
    "created_at",
    "updated_at",
)


class BookingEventInline(admin.TabularInline):
    model = BookingEvent
    extra = 0
    can_delete = False
    fields = _EVENT_FIELDS
    readonly_fields = _EVENT_FIELDS
    ordering = ["created_at", "id"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Booking, site=tenant_admin_site)
class BookingAdmin(admin.ModelAdmin):
    list_display = [
        "starts_at",
        "status",
        "service",
        "resource",
        "customer_name",
        "customer_email",
        "customer_phone",
        "source",
        "created_at",
    ]
    list_filter = ["status", "resource", ("starts_at", admin.DateFieldListFilter), "source"]
    list_select_related = ["service", "resource", "customer"]
    date_hierarchy = "starts_at"
    search_fields = ["customer__name"]
    search_help_text = "A customer's full email address or phone number, a name, or a booking id."
    ordering = ["-starts_at"]
    inlines = [BookingEventInline]
    fields = _BOOKING_FIELDS
    readonly_fields = tuple(field for field in _BOOKING_FIELDS if field != "notes")

    @admin.display(description="customer", ordering="customer__name")
    def customer_name(self, obj: Booking) -> str:
        return obj.customer.name

    @admin.display(description="email")
    def customer_email(self, obj: Booking) -> str:
        return obj.customer.masked_email

    @admin.display(description="phone")
    def customer_phone(self, obj: Booking) -> str:
        return obj.customer.masked_phone

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Booking], search_term: str
    ) -> tuple[QuerySet[Booking], bool]:
        customers = _customer_matches(search_term)
        if customers is not None:
            return queryset.filter(customer__in=customers), False
        try:
            return queryset.filter(pk=uuid.UUID(search_term.strip())), False
        except ValueError:
            return super().get_search_results(request, queryset, search_term)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Booking, form: Any, change: bool) -> None:
        # Only the notes: a full save would write back a status a service changed since.
        obj.save(update_fields=["notes", "updated_at"])


@admin.register(Customer, site=tenant_admin_site)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "masked_email", "masked_phone", "created_at"]
    search_fields = ["name"]
    search_help_text = "A full email address or phone number, or a name."
    fields = ["id", "name", "masked_email", "masked_phone", "created_at", "updated_at"]
    readonly_fields = ["id", "masked_email", "masked_phone", "created_at", "updated_at"]
    ordering = ["name"]

    @admin.display(description="email")
    def masked_email(self, obj: Customer) -> str:
        return obj.masked_email

    @admin.display(description="phone")
    def masked_phone(self, obj: Customer) -> str:
        return pii.mask_phone(obj.phone)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Customer], search_term: str
    ) -> tuple[QuerySet[Customer], bool]:
        customers = _customer_matches(search_term)
        if customers is not None:
            return queryset.filter(pk__in=customers.values("pk")), False
        return super().get_search_results(request, queryset, search_term)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
        obj.save(update_fields=["name", "updated_at"])


@admin.register(Payment, site=tenant_admin_site)
class PaymentAdmin(ReadOnlyAdmin):
    """Every charge and refund of the business's bookings, read-only: money moves only
    through Stripe and the booking's services."""

    list_display = ["created_at", "booking", "kind", "amount", "currency", "status", "actor_type"]
    list_filter = ["kind", "status", "currency"]
    search_fields = ["payment_intent_id", "refund_id", "checkout_session_id", "booking__id"]
    date_hierarchy = "created_at"
