"""Forms of the dashboard's "API & webhooks" screen. They only shape input: the services
(apps.api.services, apps.notifications.webhooks.services) validate it and their field
errors are put back on the form."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from apps.api.models import ApiKey
from apps.dashboard.forms import DomainErrorFormMixin
from apps.notifications.webhooks.models import (
    SUBSCRIBABLE_EVENT_TYPES,
    WebhookDelivery,
    WebhookEventType,
)

EVENT_CHOICES = [(value, WebhookEventType(value).label) for value in SUBSCRIBABLE_EVENT_TYPES]


class ApiKeyForm(DomainErrorFormMixin):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=120,
        required=False,
        help_text=gettext_lazy("What uses the key, e.g. “Website booking widget”."),
    )
    role = forms.ChoiceField(
        label=gettext_lazy("Access"),
        choices=ApiKey.Role.choices,
        initial=ApiKey.Role.READONLY,
        help_text=gettext_lazy(
            "Read only: catalogue and bookings. Front desk: also manage bookings. "
            "Admin: everything, including settings and webhooks."
        ),
    )


class WebhookEndpointForm(DomainErrorFormMixin):
    url = forms.CharField(
        label=gettext_lazy("Endpoint URL"),
        max_length=2000,
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/webhooks/timenest"}),
        help_text=gettext_lazy(
            "We POST each event here as JSON, signed with the endpoint's secret."
        ),
    )
    description = forms.CharField(label=gettext_lazy("Description"), max_length=200, required=False)
    events = forms.MultipleChoiceField(
        label=gettext_lazy("Events"),
        choices=EVENT_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        initial=list(SUBSCRIBABLE_EVENT_TYPES),
        error_messages={"required": "Choose at least one event."},
    )


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", "Any status"), *WebhookDelivery.Status.choices],
    )
    event_type = forms.ChoiceField(
        label=gettext_lazy("Event"),
        required=False,
        choices=[("", "Any event"), *WebhookEventType.choices],
    )
