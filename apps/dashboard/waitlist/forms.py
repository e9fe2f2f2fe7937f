"""Forms of the waitlist screen: shape only, the waitlist services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.errors import ValidationFailed


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
