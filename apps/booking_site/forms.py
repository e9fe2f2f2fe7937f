"""Forms of the customer booking pages. They check shape only; the booking services
decide (and their field errors are shown on these forms)."""

from __future__ import annotations

import datetime as dt
import functools
import re
import uuid
from collections.abc import Callable
from typing import Any

from django import forms
from django.utils.translation import gettext, gettext_lazy

from apps.booking_site.intake_fields import IntakeAnswersMixin
from apps.bookings import pii
from apps.bookings.services import NAME_MAX_LENGTH, NOTES_MAX_LENGTH
from apps.core.errors import ValidationFailed

# A chosen time travels as "<resource id>_<UTC start>", e.g.
# "0190f3c2-...-7a1b_20260203T100000Z": one value, so that a list of alternatives can be
# a group of radio buttons sharing one name, and no "+" offset gets mangled in a URL.
_SLOT = re.compile(r"^(?P<resource>[0-9a-fA-F-]{32,36})_(?P<start>\d{8}T\d{6}Z)$")
_START_FORMAT = "%Y%m%dT%H%M%SZ"


def slot_value(*, resource_id: uuid.UUID | str, start: dt.datetime) -> str:
    return f"{resource_id}_{start.astimezone(dt.UTC).strftime(_START_FORMAT)}"


def slot_parse(value: str | None) -> tuple[uuid.UUID, dt.datetime] | None:
    """(resource id, aware UTC start) of a slot value, or None when it is not one."""
    match = _SLOT.match((value or "").strip())
    if match is None:
        return None
    try:
        resource_id = uuid.UUID(match["resource"])
        start = dt.datetime.strptime(match["start"], _START_FORMAT).replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return resource_id, start


class DescribedForm(forms.Form):
    """Django points each input at its help and error texts (aria-describedby with the
    `_helptext` and `_error` ids that templates/form_field.html renders) and marks it
    invalid, so a screen reader reads the message with the field."""

    def apply_domain_error(self, error: ValidationFailed, *, own: set[str]) -> None:
        """Field errors on the fields they name; others (the time, the service) above
        the form."""
        # The services' messages are English msgids: translated here, at the edge.
        for detail in error.details:
            self.add_error(detail.field if detail.field in own else None, gettext(detail.message))
        if not error.details:
            self.add_error(None, gettext(error.message))


class DetailsForm(IntakeAnswersMixin, DescribedForm):
    """Who is booking, and the service's intake questions (`questions=`, see
    apps/booking_site/intake_fields.py). `slot` and `idempotency_key` ride along hidden;
    when the chosen time was taken, the page offers alternatives as radio buttons named
    `slot`."""

    name = forms.CharField(
        label=gettext_lazy("Your name"),
        max_length=NAME_MAX_LENGTH,
        error_messages={"required": gettext_lazy("Enter your name.")},
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.CharField(
        label=gettext_lazy("Email"),
        max_length=254,
        help_text=gettext_lazy(
            "We send the confirmation and your link to change the booking here."
        ),
        error_messages={"required": gettext_lazy("Enter your email address.")},
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label=gettext_lazy("Phone (optional)"),
        required=False,
        max_length=40,
        help_text=gettext_lazy("With the country code, e.g. +44 20 7946 0958."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    notes = forms.CharField(
        label=gettext_lazy("Anything we should know? (optional)"),
        required=False,
        max_length=NOTES_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    slot = forms.CharField(widget=forms.HiddenInput, required=False)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=255)
    # A weekly series, offered only for a service that allows it (the page shows these
    # only then; apps/bookings/series.py checks the rule and the service).
    repeat = forms.BooleanField(
        label=gettext_lazy("Book this every week or few weeks"), required=False
    )
    every_weeks = forms.CharField(
        label=gettext_lazy("Every how many weeks"),
        required=False,
        max_length=2,
        initial="1",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    count = forms.CharField(
        label=gettext_lazy("How many times in all"),
        required=False,
        max_length=3,
        help_text=gettext_lazy("Up to 52; or give the last date instead."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    until = forms.CharField(
        label=gettext_lazy("Or until (the last date)"),
        required=False,
        max_length=10,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    CUSTOMER_FIELDS = {"name", "email", "phone", "notes"}
    REPEAT_FIELDS = {"repeat", "every_weeks", "count", "until"}

    def __init__(self, *args: Any, phone_region: str | None = None, **kwargs: Any) -> None:
        """`phone_region`: the location's country, whose own way of writing a number is
        accepted as well as one with its country code."""
        super().__init__(*args, **kwargs)
        self.phone_region = phone_region
        examples = pii.phone_examples(phone_region)
        if examples is not None:
            self.fields["phone"].help_text = gettext("For example %(examples)s.") % {
                "examples": examples
            }

    # The booking services check the contact details again; checking them here too shows
    # every mistake at once (a missing name and a mistyped address together).
    def clean_email(self) -> str:
        return _contact_checked(pii.email_normalize, self.cleaned_data.get("email", ""))

    def clean_phone(self) -> str:
        return _contact_checked(
            functools.partial(pii.phone_normalize, region=self.phone_region),
            self.cleaned_data.get("phone", ""),
        )

    def clean_slot(self) -> tuple[uuid.UUID, dt.datetime]:
        parsed = slot_parse(self.cleaned_data.get("slot"))
        if parsed is None:
            raise forms.ValidationError(gettext("Choose a time."))
        return parsed

    def payload(self) -> dict[str, str]:
        """What the request asks for, as the idempotency record compares it."""
        return {
            **{
                name: str(self.data.get(name, ""))
                for name in (*sorted(self.CUSTOMER_FIELDS), "slot")
            },
            **self.answers_payload(),
            **(
                {name: str(self.data.get(name, "")) for name in sorted(self.REPEAT_FIELDS)}
                if self.data.get("repeat")
                else {}
            ),
        }


def _contact_checked(normalize: Callable[[str], str], value: str) -> str:
    """`value` as typed (the services store the normalized form), or the check's message."""
    try:
        normalize(value)
    except ValidationFailed as error:
        raise forms.ValidationError([gettext(detail.message) for detail in error.details]) from None
    return value


class SlotForm(DescribedForm):
    """A chosen time (rescheduling)."""

    slot = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean_slot(self) -> tuple[uuid.UUID, dt.datetime]:
        parsed = slot_parse(self.cleaned_data.get("slot"))
        if parsed is None:
            raise forms.ValidationError(gettext("Choose a time."))
        return parsed
