"""Filters of the dashboard's audit page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext, gettext_lazy

from apps.dashboard.forms import DayField


class AuditFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Show"),
        required=False,
        choices=[
            ("", gettext_lazy("Changes and support accesses")),
            ("change", gettext_lazy("Changes")),
            ("access", gettext_lazy("Support accesses")),
        ],
    )
    model = forms.TypedChoiceField(
        label=gettext_lazy("Record"), required=False, coerce=int, empty_value=None
    )
    actor = forms.EmailField(
        label=gettext_lazy("Person (email)"),
        required=False,
        widget=forms.EmailInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    date_from = DayField(label=gettext_lazy("From"), required=False)
    date_to = DayField(label=gettext_lazy("To"), required=False)

    def __init__(self, *args: Any, models: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["model"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", gettext_lazy("Any record")), *models]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, last = cleaned.get("date_from"), cleaned.get("date_to")
        if first and last and last < first:
            self.add_error("date_to", gettext("The last date must not be before the first date."))
        return cleaned
