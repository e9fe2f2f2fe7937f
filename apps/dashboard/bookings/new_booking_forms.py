"""Input of the "New booking" screen: staff booking for a customer who phoned or walked
in. The form turns text into values; which customer, which time and what the business
allows are decided by the view's selectors and by `booking_create_by_staff`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.bookings.staff_bookings import StaffPayment
from apps.dashboard.bookings.forms import DomainErrorsMixin
from apps.dashboard.forms import EARLIEST_DAY, LATEST_DAY, DayField, catalogue_choices
from apps.resources.models import Resource, Service

NEW_CUSTOMER = "new"
CONFIRM_NOW = "confirm"
HOLD = "hold"
PAY_AT_VENUE = (StaffPayment.AT_VENUE.value, _("Pays at the venue"))
PAY_BY_LINK = (StaffPayment.LINK.value, _("Email a payment link (the booking is held until paid)"))


class CustomerFindFields(forms.Form):
    """The customer of a staff-made booking or waitlist entry: found by the search (exact
    email, exact phone or the start of the name) and chosen, or typed."""

    q = forms.CharField(
        label=_("Find a customer"),
        required=False,
        max_length=254,
        help_text=_("Their exact email, their exact phone number (+44…) or how their name begins."),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    # A customer chosen from the search (their id), or NEW_CUSTOMER for the fields below.
    customer = forms.CharField(required=False, max_length=40)
    name = forms.CharField(label=_("Name"), required=False, max_length=150)
    email = forms.CharField(
        label=_("Email"),
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    phone = forms.CharField(
        label=_("Phone (optional)"),
        required=False,
        max_length=40,
        help_text=_("With its country code, e.g. +44 20 7946 0958."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )

    def customer_choice_check(self, cleaned: dict[str, Any]) -> None:
        """A customer chosen from the search, or a new one with a name and an email."""
        customer = cleaned.get("customer") or ""
        if not customer:
            self.add_error("customer", _("Choose a customer, or add a new one."))
        elif customer == NEW_CUSTOMER:
            if not (cleaned.get("name") or "").strip():
                self.add_error("name", _("Enter the customer's name."))
            if not (cleaned.get("email") or "").strip():
                self.add_error("email", _("Enter the customer's email."))


class NewBookingForm(CustomerFindFields, DomainErrorsMixin):
    service = forms.ChoiceField(label=_("Service"))
    resource = forms.ChoiceField(label=_("With"))
    date = DayField(label=_("Date"))
    # One of the free times shown (an instant with its offset)...
    start = forms.CharField(required=False, max_length=40)
    # ...or a time typed for that date, in the location's time zone.
    time = forms.TimeField(
        label=_("Or another time"),
        required=False,
        help_text=_(
            "A time of the grid not shown above: too soon or too far ahead, with a reason."
        ),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    mode = forms.ChoiceField(
        label=_("Booking"),
        choices=[(CONFIRM_NOW, _("Confirm now")), (HOLD, _("Hold while the customer decides"))],
        initial=CONFIRM_NOW,
        widget=forms.RadioSelect,
    )
    payment = forms.ChoiceField(
        label=_("Payment (paid services)"),
        choices=[PAY_AT_VENUE, PAY_BY_LINK],
        initial=StaffPayment.AT_VENUE.value,
        required=False,
        widget=forms.RadioSelect,
    )
    notify = forms.BooleanField(
        label=_("Send the customer a confirmation"),
        required=False,
        initial=True,
        help_text=_(
            "Reminders are sent either way. A held booking's confirmation goes out when "
            "it is confirmed."
        ),
    )
    override_reason = forms.CharField(
        label=_("Reason to book outside the booking window"),
        required=False,
        max_length=500,
        help_text=_(
            "Only for a time sooner than the minimum notice or beyond the booking horizon; "
            "kept in the booking's history for good, so leave the customer's name out."
        ),
    )
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    # A weekly series (apps/bookings/series.py): the rule is checked by the service.
    repeat = forms.BooleanField(label=_("Repeat this booking"), required=False)
    every_weeks = forms.CharField(
        label=_("Every how many weeks"),
        required=False,
        max_length=2,
        initial="1",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    count = forms.CharField(
        label=_("How many times in all"),
        required=False,
        max_length=3,
        help_text=_("Up to 52; or give an end date instead."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    until = forms.CharField(
        label=_("Or until (the last date)"),
        required=False,
        max_length=10,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    # Makes a second press of the button (or a resubmitted page) book once.
    request_key = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)

    def __init__(
        self,
        *args: Any,
        services: list[Service],
        resources: list[Resource],
        payment_links: bool,
        **kwargs: Any,
    ) -> None:
        """`payment_links`: the business takes payments online (a connected payment
        account); without one a payment link cannot be sent, so it is not offered."""
        super().__init__(*args, **kwargs)
        self.services = services
        if not payment_links:
            payment_field = self.fields["payment"]
            assert isinstance(payment_field, forms.ChoiceField)
            payment_field.choices = [PAY_AT_VENUE]
            payment_field.error_messages["invalid_choice"] = _(
                "Payment links need a connected payment account (Settings, Payments): "
                "let the customer pay at the venue."
            )
        service_field = self.fields["service"]
        resource_field = self.fields["resource"]
        assert isinstance(service_field, forms.ChoiceField)
        assert isinstance(resource_field, forms.ChoiceField)
        service_field.choices, resource_field.choices = catalogue_choices(
            services=services,
            resources=resources,
            any_resource=("", _("Choose a person or room")),
        )

    def clean_time(self) -> dt.time | None:
        value = self.cleaned_data.get("time")
        if value is not None and (value.second or value.microsecond):
            raise forms.ValidationError(_("Type the time in hours and minutes, e.g. 10:30."))
        return value

    def clean_start(self) -> dt.datetime | None:
        value = self.cleaned_data.get("start") or ""
        if not value:
            return None
        try:
            start = dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise forms.ValidationError(_("Choose one of the free times.")) from exc
        if start.tzinfo is None or not EARLIEST_DAY <= start.date() <= LATEST_DAY:
            raise forms.ValidationError(_("Choose one of the free times."))
        return start

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.customer_choice_check(cleaned)
        if (
            not cleaned.get("start")
            and not cleaned.get("time")
            and "start" not in self.errors
            and "time" not in self.errors
        ):
            self.add_error("start", _("Choose one of the free times, or type a time."))
        if cleaned.get("repeat") and cleaned.get("mode") == HOLD:
            self.add_error("mode", _("A series is confirmed at once: choose Confirm now."))
        if cleaned.get("mode") == HOLD and not cleaned.get("notify"):
            # A hold sends nothing yet; its confirmation goes when it is confirmed, and
            # nothing would carry "do not send" that far.
            self.add_error(
                "notify",
                _(
                    "A held booking's confirmation is sent when it is confirmed: tick this, "
                    "or confirm now."
                ),
            )
        return cleaned
