"""Input of the dashboard's "Services & resources" screens. The forms only turn text into
values; the services decide what is valid and report it per field, and the form shows
those messages beside what the person typed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext, gettext_lazy

from apps.accounts.models import User
from apps.core.timezone_field import TimeZoneField
from apps.core.timezones import country_choices
from apps.dashboard.forms import DomainErrorFormMixin
from apps.resources.models import Location, Resource, Service

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

NUMBER = {"inputmode": "numeric", "autocomplete": "off"}


def _choice_field(form: forms.Form, name: str) -> forms.ChoiceField:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    return field


def _text_number(label: StrOrPromise, *, help_text: StrOrPromise = "") -> forms.CharField:
    # Text, not type=number: whatever was typed comes back with the service's message.
    return forms.CharField(
        label=label,
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs=NUMBER),
        help_text=help_text,
    )


def _or_none(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


class ServiceErrorsForm(DomainErrorFormMixin):
    def service_data(self) -> dict[str, Any]:
        raise NotImplementedError


class LocationForm(ServiceErrorsForm):
    name = forms.CharField(label=gettext_lazy("Name"), required=False, max_length=200)
    address = forms.CharField(
        label=gettext_lazy("Address"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    timezone = TimeZoneField(
        label=gettext_lazy("Time zone"),
        help_text=gettext_lazy("Opening hours at this location are in its local time."),
    )
    country = forms.ChoiceField(
        label=gettext_lazy("Country"),
        required=False,
        help_text=gettext_lazy(
            "Customers may type phone numbers as they are written here, without the "
            "country code; its public holidays are offered as closures. "
            "Left empty: the time zone's country."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self, "country").choices = [
            ("", gettext_lazy("The time zone's country")),
            *country_choices(),
        ]

    @staticmethod
    def initial_for(location: Location) -> dict[str, Any]:
        return {
            "name": location.name,
            "address": location.address,
            "timezone": location.timezone,
            "country": location.country,
        }

    def service_data(self) -> dict[str, Any]:
        return {
            "name": self.cleaned_data["name"],
            "address": self.cleaned_data["address"],
            "timezone": self.cleaned_data["timezone"],
            # Empty: derived from the time zone by the service.
            "country": self.cleaned_data["country"] or None,
        }


class ResourceForm(ServiceErrorsForm):
    name = forms.CharField(label=gettext_lazy("Name"), required=False, max_length=200)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=Resource.Kind.choices)
    location = forms.ChoiceField(label=gettext_lazy("Location"))
    tags = forms.CharField(
        label=gettext_lazy("Skills or tags"),
        required=False,
        max_length=1000,
        help_text=gettext_lazy("Comma-separated, e.g. physio, Spanish."),
    )
    user = forms.ChoiceField(
        label=gettext_lazy("Team member"),
        required=False,
        help_text=gettext_lazy("Optional: the person whose own calendar this is."),
    )
    is_active = forms.BooleanField(
        label=gettext_lazy("Can be booked"), required=False, initial=True
    )

    def __init__(
        self, *args: Any, locations: list[Location], users: list[User], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self, "location").choices = [(str(loc.pk), loc.name) for loc in locations]
        _choice_field(self, "user").choices = [
            ("", gettext_lazy("Nobody")),
            *((str(user.pk), user.full_name or user.email) for user in users),
        ]

    @staticmethod
    def initial_for(resource: Resource) -> dict[str, Any]:
        return {
            "name": resource.name,
            "kind": resource.kind,
            "location": str(resource.location_id),
            "tags": ", ".join(resource.tags),
            "user": str(resource.user_id) if resource.user_id else "",
            "is_active": resource.is_active,
        }

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "kind": data["kind"],
            "location": data["location"],
            "tags": [tag.strip() for tag in data["tags"].split(",") if tag.strip()],
            "user": data["user"] or None,
            "is_active": bool(data["is_active"]),
        }


class ServiceForm(ServiceErrorsForm):
    name = forms.CharField(label=gettext_lazy("Name"), required=False, max_length=200)
    description = forms.CharField(
        label=gettext_lazy("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    duration_minutes = _text_number(gettext_lazy("Duration (minutes)"))
    buffer_before_minutes = _text_number(
        gettext_lazy("Buffer before (minutes)"),
        help_text=gettext_lazy("Free time kept before each session."),
    )
    buffer_after_minutes = _text_number(
        gettext_lazy("Buffer after (minutes)"),
        help_text=gettext_lazy("Free time kept after each session."),
    )
    capacity = _text_number(
        gettext_lazy("Places per session"),
        help_text=gettext_lazy("1 for one-to-one; more for a class."),
    )
    price = forms.CharField(
        label=gettext_lazy("Price"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        help_text=gettext_lazy("0 means free."),
    )
    currency = forms.CharField(label=gettext_lazy("Currency"), required=False, max_length=10)
    resources = forms.MultipleChoiceField(
        label=gettext_lazy("Who delivers it"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    min_notice_minutes = _text_number(
        gettext_lazy("Minimum notice (minutes)"),
        help_text=gettext_lazy("Leave empty for the business's setting."),
    )
    horizon_days = _text_number(
        gettext_lazy("Bookable how far ahead (days)"),
        help_text=gettext_lazy("Leave empty for the business's setting."),
    )
    requires_payment = forms.BooleanField(
        label=gettext_lazy("Customers pay when booking"), required=False
    )
    deposit_amount = forms.CharField(
        label=gettext_lazy("Deposit (amount)"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        help_text=gettext_lazy("Leave empty to take the whole price when booking."),
    )
    deposit_percent = forms.CharField(
        label=gettext_lazy("Deposit (percent of the price)"),
        required=False,
        max_length=3,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    is_active = forms.BooleanField(
        label=gettext_lazy("Offered to customers"), required=False, initial=True
    )
    customers_may_repeat = forms.BooleanField(
        label=gettext_lazy("Customers may book it as a weekly series"),
        required=False,
        help_text=gettext_lazy(
            "Staff can always book a series. Not for a service paid when booking."
        ),
    )

    def __init__(self, *args: Any, resources: list[Resource], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self, "resources").choices = [
            (
                str(r.pk),
                r.name
                if r.is_active
                else gettext("%(name)s (cannot be booked)") % {"name": r.name},
            )
            for r in resources
        ]

    @staticmethod
    def initial_for(service: Service) -> dict[str, Any]:
        return {
            "name": service.name,
            "description": service.description,
            "duration_minutes": service.duration_minutes,
            "buffer_before_minutes": service.buffer_before_minutes,
            "buffer_after_minutes": service.buffer_after_minutes,
            "capacity": service.capacity,
            "price": service.price,
            "currency": service.currency,
            "resources": [str(r.pk) for r in service.resources.all()],
            "min_notice_minutes": service.min_notice_minutes,
            "horizon_days": service.horizon_days,
            "requires_payment": service.requires_payment,
            "deposit_amount": service.deposit_amount,
            "deposit_percent": service.deposit_percent,
            "is_active": service.is_active,
            "customers_may_repeat": service.customers_may_repeat,
        }

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "description": data["description"],
            "duration_minutes": _or_none(data["duration_minutes"]),
            "buffer_before_minutes": _or_none(data["buffer_before_minutes"]) or "0",
            "buffer_after_minutes": _or_none(data["buffer_after_minutes"]) or "0",
            "capacity": _or_none(data["capacity"]),
            "price": _or_none(data["price"]) or "0",
            "currency": data["currency"],
            "resources": data["resources"],
            "min_notice_minutes": _or_none(data["min_notice_minutes"]),
            "horizon_days": _or_none(data["horizon_days"]),
            "requires_payment": bool(data["requires_payment"]),
            "deposit_amount": _or_none(data["deposit_amount"]),
            "deposit_percent": _or_none(data["deposit_percent"]),
            "is_active": bool(data["is_active"]),
            "customers_may_repeat": bool(data["customers_may_repeat"]),
        }
