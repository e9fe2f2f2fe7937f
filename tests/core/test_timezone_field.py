"""The one time-zone picker (apps/core/timezone_field.py) and the zone database's
countries (apps/core/timezones.py)."""

from __future__ import annotations

import re

from django import forms

from apps.core.timezone_field import TimeZoneField
from apps.core.timezones import country_names, timezone_grouped_choices, zone_country


class _ZoneForm(forms.Form):
    timezone = TimeZoneField()


def test_zones_are_grouped_by_region_with_utc_first():
    groups = timezone_grouped_choices()

    assert groups[0] == ("", [("UTC", "UTC")])
    regions = [region for region, _ in groups[1:]]
    assert regions == sorted(regions) and "Europe" in regions and "America" in regions
    europe = dict(next(entries for region, entries in groups if region == "Europe"))
    assert europe["Europe/Berlin"] == "Berlin"
    america = dict(next(entries for region, entries in groups if region == "America"))
    assert america["America/Argentina/Buenos_Aires"] == "Argentina / Buenos Aires"


def test_an_empty_picker_asks_for_the_browsers_zone_and_loads_its_script():
    html = str(_ZoneForm()["timezone"])

    assert 'data-timezone-picker=""' in html and 'data-browser-default=""' in html
    assert '<optgroup label="Europe">' in html
    assert re.search(r'<script src="[^"]*js/timezone_picker\.js" defer></script>', html)


def test_a_chosen_zone_is_kept_and_not_replaced_by_the_browsers():
    form = _ZoneForm({"timezone": "Asia/Tokyo"})
    html = str(form["timezone"])

    assert form.is_valid() and form.cleaned_data["timezone"] == "Asia/Tokyo"
    assert '<option value="Asia/Tokyo" selected>' in html
    assert "data-browser-default" not in html


def test_an_unknown_zone_is_a_field_error():
    form = _ZoneForm({"timezone": "Mars/Olympus"})

    assert not form.is_valid()
    assert "timezone" in form.errors


def test_a_zones_country_comes_from_the_zone_database():
    assert zone_country("Europe/Berlin") == "DE"
    assert zone_country("America/Sao_Paulo") == "BR"
    assert zone_country("UTC") == ""
    assert country_names()["DE"] == "Germany"
