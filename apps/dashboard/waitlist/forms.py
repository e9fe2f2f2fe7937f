"""Forms of the waitlist screen: shape only, the waitlist services decide."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.calendars.timezones import local_time_span
from apps.core.errors import DomainError, ValidationFailed
from apps.dashboard.bookings.new_booking_forms import CustomerFindFields
from apps.dashboard.forms import DayField, catalogue_choices
from apps.resources.models import Resource, Service

# The "With" choice of an entry for anyone who offers the service.
ANYONE = "anyone"
# Where the waitlist service's field names land on the add form.
_JOIN_FIELDS = {
    name: name
    for name in ("customer", "name", "email", "phone", "service", "resource", "earliest", "latest")
}


class MoveForm(forms.Form):
    direction = forms.ChoiceField(choices=[("up", _("Up")), ("down", _("Down"))])


class OfferWindowForm(forms.Form):
    offer_window_minutes = forms.IntegerField(
        label=_("Offer window (minutes)"),
        min_value=5,
        max_value=1440,
        help_text=_(
            "How long a freed place is held for the person offered it before it goes to "
            "the next in line."
        ),
    )

    def apply_domain_error(self, error: ValidationFailed) -> None:
        for detail in error.details:
            field = detail.field if detail.field in self.fields else None
            self.add_error(field, detail.message)


class WaitlistAddForm(CustomerFindFields):
    """Staff adding someone who phoned or walked in to the line: the customer found as
    the "New booking" screen finds them (or typed), the service, the person or anyone,
    the day and the start times that suit. Shape only: `waitlist_join` decides."""

    service = forms.ChoiceField(label=_("Service"))
    resource = forms.ChoiceField(label=_("With"))
    day = DayField(label=_("Day"))
    earliest = forms.TimeField(
        label=_("Earliest start"),
        required=False,
        help_text=_("Leave both times empty for any time that day."),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    latest = forms.TimeField(
        label=_("Latest start"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )

    def __init__(
        self, *args: Any, services: list[Service], resources: list[Resource], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        service_field = self.fields["service"]
        resource_field = self.fields["resource"]
        assert isinstance(service_field, forms.ChoiceField)
        assert isinstance(resource_field, forms.ChoiceField)
        service_field.choices, resource_field.choices = catalogue_choices(
            services=services,
            resources=resources,
            any_resource=(ANYONE, _("Anyone who offers it")),
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.customer_choice_check(cleaned)
        earliest, latest = cleaned.get("earliest"), cleaned.get("latest")
        if earliest and latest and latest < earliest:
            self.add_error("latest", _("The last time must not be before the first."))
        return cleaned

    def span(self, zone_name: str) -> tuple[dt.datetime, dt.datetime]:
        """The acceptable starts as instants, read in `zone_name`."""
        data = self.cleaned_data
        return local_time_span(data["day"], data.get("earliest"), data.get("latest"), zone_name)

    def apply_domain_error(self, error: DomainError) -> None:
        """The waitlist service's refusal: each error on its field, the rest above. The
        service's questions are not asked here: their errors say where they are."""
        details = [d for d in error.details if not d.field.startswith("answers")]
        if len(details) < len(error.details):
            self.add_error(
                "service",
                gettext(
                    "This service asks questions before booking, which this form does not "
                    "ask: the customer joins from the booking pages, where they answer them."
                ),
            )
        for detail in details:
            self.add_error(_JOIN_FIELDS.get(detail.field), gettext(detail.message))
        if not error.details:
            self.add_error(None, gettext(error.message))
