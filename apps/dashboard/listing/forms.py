"""Forms of the directory listing screens: what the service takes, as fields that keep
what was typed when the service refuses it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.dashboard.forms import DomainErrorFormMixin
from apps.directory.models import ListingFields, PaymentMode
from apps.directory.taxonomy import language_choices, specialization_choices


class ListingForm(DomainErrorFormMixin):
    is_listed = forms.BooleanField(label=_("Show in the public directory"), required=False)
    display_name = forms.CharField(label=_("Name shown"), max_length=120, required=False)
    description = forms.CharField(
        label=_("Short description"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    specializations = forms.MultipleChoiceField(
        label=_("Specializations"),
        required=False,
        choices=specialization_choices,
        widget=forms.CheckboxSelectMultiple,
    )
    tags = forms.CharField(
        label=_("Other tags"),
        required=False,
        help_text=_("Words people may search for, separated by commas."),
    )
    languages = forms.MultipleChoiceField(
        label=_("Languages spoken"),
        required=False,
        choices=language_choices,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    coordinates = forms.CharField(
        label=_("Coordinates (latitude, longitude)"),
        required=False,
        help_text=_("Paste them from a map, e.g. 51.5074, -0.1278. Needed to be found nearby."),
    )
    payment_modes = forms.MultipleChoiceField(
        label=_("Accepted payment"),
        required=False,
        choices=PaymentMode.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    photo = forms.FileField(
        label=_("Photo"),
        required=False,
        help_text=_("JPEG, PNG, WebP or GIF, at most 5 MB; resized to 640 pixels."),
    )
    photo_remove = forms.BooleanField(label=_("Remove the photo"), required=False)

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("photo", None)
        data.pop("photo_remove", None)
        return data

    @classmethod
    def initial_for(cls, listing: ListingFields, *, is_listed: bool) -> dict[str, Any]:
        coordinates = (
            f"{listing.latitude}, {listing.longitude}"
            if listing.latitude is not None and listing.longitude is not None
            else ""
        )
        return {
            "is_listed": is_listed,
            "display_name": listing.display_name,
            "description": listing.description,
            "specializations": listing.specializations,
            "tags": ", ".join(listing.tags),
            "languages": listing.languages,
            "address": listing.address,
            "coordinates": coordinates,
            "payment_modes": listing.payment_modes,
        }


class ResourceListingForm(ListingForm):
    is_listed = forms.BooleanField(label=_("List in the directory"), required=False)
