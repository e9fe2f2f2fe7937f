"""Input of the customer screens. The rules (what a reason may say) are the service's."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from apps.dashboard.forms import DomainErrorFormMixin


class EraseForm(DomainErrorFormMixin):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy(
            "For example the request's reference. It is kept in the audit trail: leave out "
            "the customer's name and contact details."
        ),
    )
    confirm = forms.BooleanField(
        label=gettext_lazy("I understand that this cannot be undone"),
        error_messages={"required": gettext_lazy("Tick the box to confirm.")},
    )
