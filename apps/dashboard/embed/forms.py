"""Forms of "Embed on your website": the sites that may show the booking pages, and
the snippet's choices. Shape only: apps/accounts/embed_origins.py decides."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.accounts.embed_origins import EMBED_ORIGINS_MAX
from apps.core.errors import ValidationFailed
from apps.resources.models import Resource, Service


class EmbedOriginsForm(forms.Form):
    embed_origins = forms.CharField(
        label=_("Websites that may show your booking pages"),
        required=False,
        max_length=EMBED_ORIGINS_MAX * 300,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocapitalize": "off"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Interpolated here, per request, so that it is in the request's language.
        self.fields["embed_origins"].help_text = gettext(
            "One address per line, such as https://www.example.com (no page path). "
            "List each website exactly: shop.example.com and www.example.com are two "
            "lines, and wildcards (*) are not accepted. http:// only for localhost. "
            "At most %(count)d."
        ) % {"count": EMBED_ORIGINS_MAX}

    def lines(self) -> list[str]:
        return str(self.cleaned_data.get("embed_origins", "")).splitlines()

    def apply_domain_error(self, error: ValidationFailed) -> None:
        for detail in error.details:
            self.add_error("embed_origins", detail.message)
        if not error.details:
            self.add_error("embed_origins", error.message)


class SnippetForm(forms.Form):
    """Which service, and which person or room, the widget starts with (none: the list
    of services; a service without one: "who would you like to see?")."""

    service = forms.ModelChoiceField(
        label=_("Start with the service"),
        queryset=Service.objects.none(),
        required=False,
        empty_label=_("All services (the customer chooses)"),
    )
    resource = forms.ModelChoiceField(
        label=_("With"),
        queryset=Resource.objects.none(),
        required=False,
        empty_label=_("Anyone available, or the customer chooses"),
    )

    def __init__(self, *args: Any, services: Any, resources: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field_service = self.fields["service"]
        field_resource = self.fields["resource"]
        assert isinstance(field_service, forms.ModelChoiceField)
        assert isinstance(field_resource, forms.ModelChoiceField)
        field_service.queryset = services
        field_resource.queryset = resources

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        service, resource = data.get("service"), data.get("resource")
        if resource is None:
            return data
        if service is None:
            self.add_error("resource", _("Choose a service first: the person goes with it."))
        elif not resource.services.filter(pk=service.pk).exists():
            self.add_error(
                "resource",
                gettext("%(resource)s does not offer %(service)s.")
                % {"resource": resource.name, "service": service.name},
            )
        return data
