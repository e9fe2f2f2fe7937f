"""One time-zone picker for every form that asks for a zone: the zone database's names
grouped by region (<optgroup>s), a search box, and the browser's own zone when nothing
was chosen yet. The search box and the browser default come from
static/js/timezone_picker.js; without JavaScript it is a plain grouped <select>."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.timezones import timezone_grouped_choices


class TimeZoneSelect(forms.Select):
    template_name = "core/widgets/timezone_select.html"

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        widget_attrs = context["widget"]["attrs"]
        widget_attrs["data-timezone-picker"] = ""
        widget_attrs["data-search-label"] = str(_("Find a city or region"))
        if not value:
            # Nothing chosen yet: the script picks the browser's zone when it is listed.
            widget_attrs["data-browser-default"] = ""
        return context


class TimeZoneField(forms.ChoiceField):
    widget = TimeZoneSelect

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("choices", timezone_grouped_choices)
        kwargs.setdefault("label", _("Time zone"))
        super().__init__(**kwargs)
