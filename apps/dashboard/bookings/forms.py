"""Input of the dashboard's booking screens. Forms only turn text into values; the rules
(who may cancel when, which times are free) belong to the services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext, gettext_lazy

from apps.bookings.models import Booking
from apps.core.errors import DomainError
from apps.dashboard.forms import EARLIEST_DAY, LATEST_DAY, DayField
from apps.resources.models import Location, Resource


def _choice_field(form: forms.Form, name: str) -> forms.ChoiceField:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    return field


class DomainErrorsMixin(forms.Form):
    def apply_domain_error(self, error: DomainError) -> None:
        for detail in error.details:
            self.add_error(
                detail.field if detail.field in self.fields else None, gettext(detail.message)
            )
        if not error.details:
            self.add_error(None, gettext(error.message))


class CalendarForm(forms.Form):
    """Which calendar to show. Unknown values fall back to defaults with a field error."""

    VIEWS = [("day", gettext_lazy("Day")), ("week", gettext_lazy("Week"))]

    view = forms.ChoiceField(choices=VIEWS, required=False)
    date = DayField(label=gettext_lazy("Date"), required=False)
    location = forms.ChoiceField(label=gettext_lazy("Location"), required=False)
    resource = forms.ChoiceField(label=gettext_lazy("Resource"), required=False)
    cancelled = forms.BooleanField(label=gettext_lazy("Show cancelled"), required=False)

    def __init__(
        self, *args: Any, locations: list[Location], resources: list[Resource], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self, "location").choices = [(str(loc.pk), loc.name) for loc in locations]
        _choice_field(self, "resource").choices = [
            (str(r.pk), f"{r.name} ({r.location.name})" if len(locations) > 1 else r.name)
            for r in resources
        ]


class BookingFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("Any status")), *Booking.Status.choices],
    )
    resource = forms.ChoiceField(label=gettext_lazy("Resource"), required=False)
    date_from = DayField(label=gettext_lazy("From"), required=False)
    date_to = DayField(label=gettext_lazy("To"), required=False)
    email = forms.CharField(
        label=gettext_lazy("Customer email"),
        required=False,
        max_length=254,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, resources: list[Resource], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self, "resource").choices = [
            ("", gettext_lazy("Any resource")),
            *((str(resource.pk), resource.name) for resource in resources),
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, last = cleaned.get("date_from"), cleaned.get("date_to")
        if first and last and last < first:
            self.add_error(
                "date_to", gettext_lazy("The last date must not be before the first date.")
            )
        return cleaned


class CancelForm(DomainErrorsMixin):
    reason = forms.CharField(
        label=gettext_lazy("Reason for cancelling"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Kept in the booking's history."),
        error_messages={"required": gettext_lazy("Say why the booking is cancelled.")},
    )
    # For a paid booking: the policy's refund unless staff decide otherwise.
    refund = forms.ChoiceField(
        label=gettext_lazy("Refund"),
        choices=[
            ("policy", gettext_lazy("As the refund policy says")),
            ("full", gettext_lazy("Everything paid")),
            ("amount", gettext_lazy("This amount")),
            ("none", gettext_lazy("Nothing")),
        ],
        initial="policy",
        required=False,
    )
    refund_amount = forms.DecimalField(
        label=gettext_lazy("Amount to refund"), required=False, min_value=0, decimal_places=2
    )
    # An occurrence of a recurring series: this one, or it and every later one.
    scope = forms.ChoiceField(
        label=gettext_lazy("Cancel"),
        choices=[
            ("one", gettext_lazy("This booking only")),
            ("rest", gettext_lazy("This booking and the rest of the series")),
        ],
        initial="one",
        required=False,
        widget=forms.RadioSelect,
    )


class RescheduleSearchForm(forms.Form):
    date = DayField(label=gettext_lazy("Date"), required=False)
    who = forms.ChoiceField(label=gettext_lazy("With"), required=False)

    def __init__(self, *args: Any, resources: list[Resource], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self, "who").choices = [
            *((str(resource.pk), resource.name) for resource in resources),
            ("any", gettext_lazy("Anyone free")),
        ]


class RescheduleForm(DomainErrorsMixin):
    start = forms.CharField(max_length=40)
    resource = forms.UUIDField()

    def clean_start(self) -> dt.datetime:
        try:
            start = dt.datetime.fromisoformat(self.cleaned_data["start"])
        except ValueError as exc:
            raise forms.ValidationError(gettext_lazy("Choose one of the free times.")) from exc
        if start.tzinfo is None or not EARLIEST_DAY <= start.date() <= LATEST_DAY:
            raise forms.ValidationError(gettext_lazy("Choose one of the free times."))
        return start
