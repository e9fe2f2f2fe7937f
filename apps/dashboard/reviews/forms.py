"""Input of the reviews screen: text in, values out; the rules are the services'."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.reviews.models import REASON_MAX_LENGTH, REPLY_MAX_LENGTH


class ReplyForm(forms.Form):
    reply = forms.CharField(
        label=_("Your public reply"),
        max_length=REPLY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown under the review. One reply per review: it cannot be changed."),
    )


class ReportForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is this review abusive?"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Support reads it and decides whether to hide the review."),
    )
