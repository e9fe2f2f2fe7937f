"""Input of the dashboard's availability screens. The form only turns text into values;
`availability_rule_create/update` decide what is valid and say so per field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from apps.calendars.models import AvailabilityRule
from apps.calendars.timezones import format_wall_time
from apps.core.errors import DomainError
from apps.dashboard.forms import DayField
from apps.resources.models import Location, Resource


def _choice_field(form: forms.Form, name: str) -> forms.ChoiceField:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    return field


Kind = AvailabilityRule.Kind
WEEKDAY_LABELS = {
    1: "Monday",
    2: "Tuesday",
    3: "Wednesday",
    4: "Thursday",
    5: "Friday",
    6: "Saturday",
    7: "Sunday",
}

# Which fields each kind of rule asks for (the others keep their defaults).
FIELDS_BY_KIND = {
    Kind.WEEKLY: [
        "applies_to",
        "days_of_week",
        "start_time",
        "end_time",
        "granularity_minutes",
        "capacity",
        "valid_from",
        "valid_to",
    ],
    Kind.DATE_RANGE: [
        "applies_to",
        "valid_from",
        "valid_to",
        "days_of_week",
        "start_time",
        "end_time",
        "granularity_minutes",
        "capacity",
    ],
    Kind.EXCEPTION: [
        "applies_to",
        "valid_from",
        "valid_to",
        "is_closed",
        "start_time",
        "end_time",
        "granularity_minutes",
        "capacity",
    ],
}
HELP_BY_KIND = {
    Kind.WEEKLY: "The usual hours, repeated every week.",
    Kind.DATE_RANGE: "Different hours for a period (a season, a course); they replace the "
    "weekly hours on those dates.",
    Kind.EXCEPTION: "A closure, or the only hours of particular dates (a holiday, an extra "
    "opening); it replaces every other rule on those dates.",
}


def scope_choices(*, locations: list[Location], resources: list[Resource]) -> list[tuple[str, Any]]:
    return [
        (
            "Everyone at a location",
            [(f"location:{location.pk}", location.name) for location in locations],
        ),
        (
            "One person or room",
            [
                (f"resource:{resource.pk}", f"{resource.name} ({resource.location.name})")
                for resource in resources
            ],
        ),
    ]


def _time_input(placeholder: str) -> forms.TextInput:
    # Text, not type=time: "24:00" (midnight at the end of a day) must be possible, and a
    # typed value the browser cannot parse must come back to the person as they typed it.
    return forms.TextInput(
        attrs={"inputmode": "numeric", "placeholder": placeholder, "autocomplete": "off"}
    )


class RuleForm(forms.Form):
    kind = forms.ChoiceField(choices=Kind.choices, widget=forms.HiddenInput)
    applies_to = forms.ChoiceField(label=gettext_lazy("For"))
    days_of_week = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Days"),
        coerce=int,
        required=False,
        choices=list(WEEKDAY_LABELS.items()),
        widget=forms.CheckboxSelectMultiple,
    )
    start_time = forms.CharField(
        label=gettext_lazy("Opens at"), required=False, max_length=10, widget=_time_input("HH:MM")
    )
    end_time = forms.CharField(
        label=gettext_lazy("Closes at"),
        required=False,
        max_length=10,
        widget=_time_input("HH:MM"),
        help_text=gettext_lazy("24-hour clock, local time of the location; 24:00 is midnight."),
    )
    valid_from = DayField(label=gettext_lazy("From"), required=False)
    valid_to = DayField(label=gettext_lazy("Until"), required=False)
    granularity_minutes = forms.IntegerField(
        label=gettext_lazy("Slot length (minutes)"),
        initial=30,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
        help_text=gettext_lazy(
            "Slots start at the opening time and follow each other every this many minutes."
        ),
    )
    capacity = forms.IntegerField(
        label=gettext_lazy("Places per session"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
        help_text=gettext_lazy("Leave empty to use each service's own number of places."),
    )
    is_closed = forms.BooleanField(label=gettext_lazy("Closed on these dates"), required=False)

    # The service speaks of the scope as resource/location; the form has one field.
    FIELD_FOR = {"resource": "applies_to", "location": "applies_to"}

    def __init__(
        self,
        *args: Any,
        kind: str,
        locations: list[Location],
        resources: list[Resource],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.rule_kind = Kind(kind) if kind in Kind.values else Kind.WEEKLY
        _choice_field(self, "applies_to").choices = scope_choices(
            locations=locations, resources=resources
        )
        self.kind_help = HELP_BY_KIND[self.rule_kind]
        if self.rule_kind == Kind.WEEKLY:
            self.fields["valid_from"].help_text = gettext_lazy("Optional: when these hours begin.")
            self.fields["valid_to"].help_text = gettext_lazy("Optional: the last day they apply.")
        elif self.rule_kind == Kind.EXCEPTION:
            self.fields["valid_from"].label = gettext_lazy("Date")
            self.fields["valid_to"].label = gettext_lazy("Last date")
            self.fields["valid_to"].help_text = gettext_lazy("Optional, for several days in a row.")
            self.fields["start_time"].help_text = gettext_lazy("Leave the hours empty when closed.")
        else:
            self.fields["days_of_week"].help_text = gettext_lazy(
                "Leave all unticked for every day."
            )

    @property
    def shown_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in FIELDS_BY_KIND[self.rule_kind]]

    @property
    def kind_label(self) -> str:
        return str(self.rule_kind.label)

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        scope, _, scope_id = data["applies_to"].partition(":")
        return {
            "kind": data["kind"],
            "resource": scope_id if scope == "resource" else None,
            "location": scope_id if scope == "location" else None,
            "days_of_week": data.get("days_of_week") or [],
            "start_time": data.get("start_time") or None,
            "end_time": data.get("end_time") or None,
            "valid_from": data.get("valid_from"),
            "valid_to": data.get("valid_to"),
            "granularity_minutes": data["granularity_minutes"],
            "capacity": data.get("capacity"),
            "is_closed": bool(data.get("is_closed")),
        }

    def apply_domain_error(self, error: DomainError) -> None:
        for detail in error.details:
            field = self.FIELD_FOR.get(detail.field, detail.field)
            self.add_error(field if field in self.fields else None, detail.message)
        if not error.details:
            self.add_error(None, error.message)

    @staticmethod
    def initial_for(rule: AvailabilityRule) -> dict[str, Any]:
        if rule.resource_id:
            scope = f"resource:{rule.resource_id}"
        else:
            scope = f"location:{rule.location_id}"
        return {
            "kind": rule.kind,
            "applies_to": scope,
            "days_of_week": list(rule.days_of_week),
            "start_time": "" if rule.start_minute is None else format_wall_time(rule.start_minute),
            "end_time": "" if rule.end_minute is None else format_wall_time(rule.end_minute),
            "valid_from": rule.valid_from,
            "valid_to": rule.valid_to,
            "granularity_minutes": rule.granularity_minutes,
            "capacity": rule.capacity,
            "is_closed": rule.is_closed,
        }


class WeekSlotsForm(forms.Form):
    resource = forms.ChoiceField(label=gettext_lazy("Resource"), required=False)
    date = DayField(label=gettext_lazy("Week of"), required=False)

    def __init__(self, *args: Any, resources: list[Resource], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self, "resource").choices = [
            (str(resource.pk), f"{resource.name} ({resource.location.name})")
            for resource in resources
        ]
