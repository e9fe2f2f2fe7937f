"""Input of the support console's pages. Forms turn text into values; the rules (who may
be suspended, what a look-up finds) belong to the services and selectors."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.accounts.closure import REASON_MAX_LENGTH
from apps.accounts.models import Tenant
from apps.billing.plans import PLANS, TRIAL
from apps.bookings import pii
from apps.core.errors import ValidationFailed


class OverviewFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Slug, name or domain")}),
    )
    status = forms.ChoiceField(label=_("Status"), required=False)
    plan = forms.ChoiceField(label=_("Plan"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        status = self.fields["status"]
        plan = self.fields["plan"]
        assert isinstance(status, forms.ChoiceField) and isinstance(plan, forms.ChoiceField)
        status.choices = [("", _("Any status")), *Tenant.Status.choices]
        plan.choices = [
            ("", _("Any plan")),
            (TRIAL, _("Trial")),
            *((code, offered.name) for code, offered in PLANS.items()),
        ]


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Kept in the audit trail with your name."),
    )

    def clean_reason(self) -> str:
        return str(self.cleaned_data["reason"]).strip()


class LookupForm(ReasonForm):
    """A booking by its id, or a customer by their exact email address; always with a
    reason (the look-up is audited)."""

    query = forms.CharField(
        label=_("Booking id or customer email"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text=_("A booking's id, or a customer's whole email address (no partial match)."),
    )

    field_order = ["query", "reason"]

    def clean_query(self) -> str:
        return str(self.cleaned_data["query"]).strip()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        query = cleaned.get("query")
        if not query:
            return cleaned
        if "@" in query:
            try:
                cleaned["email"] = pii.email_normalize(query, field="query")
            except ValidationFailed as error:
                self.add_error("query", error.message)
            return cleaned
        try:
            cleaned["booking_id"] = uuid.UUID(query)
        except ValueError:
            self.add_error("query", _("Enter a booking id (a UUID) or an email address."))
        return cleaned
