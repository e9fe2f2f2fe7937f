from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import Membership, Tenant
from apps.core.entitlements import PlanLimitReached
from apps.core.errors import DomainError
from apps.core.languages import language_choices
from apps.core.timezone_field import TimeZoneField
from apps.resources.models import Resource, Service

_DURATION = re.compile(r"^\s*(\d+)\s*([mhd]?)\s*$")
_UNIT_MINUTES = {"": 1, "m": 1, "h": 60, "d": 24 * 60}


def parse_offsets(text: str) -> list[int]:
    """'24h, 1h' or '1440, 60' → [1440, 60]."""
    offsets = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = _DURATION.match(part.lower())
        if match is None:
            raise forms.ValidationError(
                f"“{part}” is not a duration. Use minutes or h/d, e.g. 24h, 90m, 2d."
            )
        offsets.append(int(match.group(1)) * _UNIT_MINUTES[match.group(2)])
    return offsets


def format_offsets(offsets: list[int]) -> str:
    def one(minutes: int) -> str:
        if minutes % (24 * 60) == 0:
            return f"{minutes // (24 * 60)}d"
        if minutes % 60 == 0:
            return f"{minutes // 60}h"
        return f"{minutes}m"

    return ", ".join(one(m) for m in offsets)


EARLIEST_DAY = dt.date(2000, 1, 1)
LATEST_DAY = dt.date(2199, 12, 31)


class DayField(forms.DateField):
    """A calendar day the dashboard can work with. Days near the ends of the calendar
    (year 1, year 9999) would overflow the arithmetic of weeks and time zones."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
        super().__init__(**kwargs)

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value and not EARLIEST_DAY <= value <= LATEST_DAY:
            raise forms.ValidationError(
                f"Choose a date between {EARLIEST_DAY.year} and {LATEST_DAY.year}."
            )


def catalogue_choices(
    *, services: list[Service], resources: list[Resource], any_resource: tuple[str, Any]
) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    """A staff form's service and person-or-room choices, after their blank ones; a
    resource is named with its location where there are several."""
    locations = {resource.location_id for resource in resources}
    return (
        [("", _("Choose a service")), *((str(s.pk), s.name) for s in services)],
        [
            any_resource,
            *(
                (str(r.pk), f"{r.name} ({r.location.name})" if len(locations) > 1 else r.name)
                for r in resources
            ),
        ],
    )


def search_query(field: forms.Field, value: Any) -> tuple[str, list[str]]:
    """What a search box's text searches for: the text when its form field takes it, or
    nothing and the field's reasons when it refuses it (a NUL, which PostgreSQL text
    cannot hold, or more than the field allows). A refused search finds nobody and says
    why; it never reaches the database."""
    try:
        cleaned = field.clean(value)
    except forms.ValidationError as error:
        return "", [str(message) for message in error.messages]
    return ("" if cleaned is None else str(cleaned)), []


def plan_limit_text(error: PlanLimitReached) -> str:
    return "{} {}".format(
        error.message, gettext("An admin can change the plan on the Billing page.")
    )


class DomainErrorFormMixin(forms.Form):
    """A form whose values go to one service call, which reports problems per field."""

    def apply_domain_error(self, error: DomainError) -> None:
        if isinstance(error, PlanLimitReached):
            self.add_error(None, plan_limit_text(error))
            return
        for detail in error.details:
            self.add_error(
                detail.field if detail.field in self.fields else None, gettext(detail.message)
            )
        if not error.details:
            self.add_error(None, gettext(error.message))


class InviteForm(DomainErrorFormMixin):
    email = forms.EmailField(label=gettext_lazy("Email address"))
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Membership.Role.choices)


class RoleForm(DomainErrorFormMixin):
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Membership.Role.choices)


class TenantSettingsForm(DomainErrorFormMixin):
    name = forms.CharField(label=gettext_lazy("Business name"), max_length=120)
    timezone = TimeZoneField(label=gettext_lazy("Default time zone"))
    locale = forms.ChoiceField(
        label=gettext_lazy("Default language"),
        choices=language_choices,
        # Left out of a post: the business's language stays as it is.
        required=False,
        help_text=gettext_lazy(
            "The booking pages speak it to customers whose browser asks for none of ours, "
            "and the emails of bookings made without a language."
        ),
    )
    exposure_mode = forms.ChoiceField(
        label=gettext_lazy("Slots shown to customers"), choices=Tenant.ExposureMode.choices
    )
    hold_ttl_minutes = forms.IntegerField(
        label=gettext_lazy("Hold a chosen time for (minutes)"), min_value=1, max_value=60
    )
    cancellation_window_minutes = forms.IntegerField(
        label=gettext_lazy("Customers may cancel up to (minutes before)"), min_value=0
    )
    min_notice_minutes = forms.IntegerField(
        label=gettext_lazy("Minimum notice (minutes)"), min_value=0
    )
    refund_full_hours = forms.IntegerField(
        label=gettext_lazy("Full refund when cancelled at least (hours before)"),
        min_value=0,
        required=False,
    )
    refund_partial_hours = forms.IntegerField(
        label=gettext_lazy("Partial refund when cancelled at least (hours before)"),
        min_value=0,
        help_text=gettext_lazy("0: no partial refund; later cancellations get nothing back."),
        required=False,
    )
    refund_partial_percent = forms.IntegerField(
        label=gettext_lazy("Partial refund (percent)"), min_value=0, max_value=100, required=False
    )
    horizon_days = forms.IntegerField(
        label=gettext_lazy("Bookable how far ahead (days)"), min_value=1, max_value=365
    )
    reminder_offsets = forms.CharField(
        label=gettext_lazy("Reminders before the appointment"),
        required=False,
        help_text=gettext_lazy("Comma-separated, e.g. 24h, 1h. Leave empty for no reminders."),
    )
    notify_hold_expired = forms.BooleanField(
        label=gettext_lazy("Email customers whose held time ran out before they confirmed"),
        required=False,
    )
    sms_enabled = forms.BooleanField(
        label=gettext_lazy(
            "Also send reminders by text message to customers who gave a mobile number"
        ),
        required=False,
    )
    accent_color = forms.CharField(
        label=gettext_lazy("Accent colour"), widget=forms.TextInput(attrs={"type": "color"})
    )
    logo_url = forms.URLField(label=gettext_lazy("Logo URL"), required=False, assume_scheme="https")

    def clean_reminder_offsets(self) -> list[int]:
        return parse_offsets(self.cleaned_data.get("reminder_offsets", ""))

    FIELD_FOR = {"reminder_offsets_minutes": "reminder_offsets"}

    def apply_domain_error(self, error: DomainError) -> None:
        for detail in error.details:
            field = self.FIELD_FOR.get(detail.field, detail.field)
            self.add_error(field if field in self.fields else None, detail.message)

    # Kept by the notifications app, not on the tenant row (see the settings view).
    NOTIFICATION_FIELDS = ("notify_hold_expired", "sms_enabled")

    @classmethod
    def initial_for(cls, tenant: Tenant, notifications: dict[str, bool]) -> dict[str, object]:
        return notifications | {
            "name": tenant.name,
            "timezone": tenant.timezone,
            "locale": tenant.locale,
            "exposure_mode": tenant.exposure_mode,
            "hold_ttl_minutes": tenant.hold_ttl_minutes,
            "cancellation_window_minutes": tenant.cancellation_window_minutes,
            "refund_full_hours": tenant.refund_full_hours,
            "refund_partial_hours": tenant.refund_partial_hours,
            "refund_partial_percent": tenant.refund_partial_percent,
            "min_notice_minutes": tenant.min_notice_minutes,
            "horizon_days": tenant.horizon_days,
            "reminder_offsets": format_offsets(tenant.reminder_offsets_minutes),
            "accent_color": tenant.accent_color,
            "logo_url": tenant.logo_url,
        }

    def service_data(self) -> dict[str, object]:
        data = {k: v for k, v in self.cleaned_data.items() if k not in self.NOTIFICATION_FIELDS}
        data["reminder_offsets_minutes"] = data.pop("reminder_offsets")
        # Refund fields left out of a post keep the business's current policy.
        for field in ("refund_full_hours", "refund_partial_hours", "refund_partial_percent"):
            if data.get(field) is None:
                data.pop(field, None)
        # And the language left out keeps the business's.
        if not data.get("locale"):
            data.pop("locale", None)
        return data

    def notification_data(self) -> dict[str, bool]:
        return {field: bool(self.cleaned_data.get(field)) for field in self.NOTIFICATION_FIELDS}
