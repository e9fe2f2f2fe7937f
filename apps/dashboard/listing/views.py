"""The business's listing in the public directory (managers and up): opting in or out,
what the business says about itself, and each person's or asset's own listing (blank
fields take the business's). Saving rebuilds the business's search rows at once."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from apps.accounts.models import Membership
from apps.accounts.selectors import tenant_current
from apps.core.errors import ValidationFailed
from apps.core.htmx import redirect_after_post, render_page_or_partial
from apps.dashboard.access import membership_required
from apps.dashboard.listing.forms import ListingForm, ResourceListingForm
from apps.directory.photos import photo_url
from apps.directory.selectors import listed_resources, listing_profile_get, resource_listing_get
from apps.directory.services import (
    PhotoUpload,
    listing_profile_update,
    resource_listing_update,
)
from apps.resources.selectors import resource_get

MANAGER = Membership.Role.MANAGER


def _photo(request: HttpRequest) -> PhotoUpload | None:
    upload = request.FILES.get("photo")
    return PhotoUpload(file=upload, size=upload.size or 0) if upload else None


@require_http_methods(["GET", "POST"])
@membership_required(MANAGER)
def listing(request: HttpRequest) -> HttpResponse:
    profile = listing_profile_get()
    status = 200
    if request.method == "POST":
        form = ListingForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                listing_profile_update(
                    data=form.service_data(),
                    photo=_photo(request),
                    photo_remove=form.cleaned_data["photo_remove"],
                )
            except ValidationFailed as error:
                form.apply_domain_error(error)
            else:
                messages.success(request, _("Listing saved."))
                return redirect_after_post(request, reverse("dashboard:listing"))
        status = 400
    else:
        form = ListingForm(initial=ListingForm.initial_for(profile, is_listed=profile.is_listed))
    return render_page_or_partial(
        request,
        page="dashboard/listing.html",
        partial="dashboard/_listing.html",
        context={
            "form": form,
            "photo_url": photo_url(profile.photo),
            "resources": listed_resources(tenant_id=tenant_current().pk),
            "is_listed": profile.is_listed,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@membership_required(MANAGER)
def listing_resource(request: HttpRequest, resource_id: str) -> HttpResponse:
    resource = resource_get(resource_id=resource_id)
    own = resource_listing_get(resource=resource)
    status = 200
    if request.method == "POST":
        form = ResourceListingForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                resource_listing_update(
                    resource=resource,
                    data=form.service_data(),
                    photo=_photo(request),
                    photo_remove=form.cleaned_data["photo_remove"],
                )
            except ValidationFailed as error:
                form.apply_domain_error(error)
            else:
                messages.success(request, _("Listing of %(name)s saved.") % {"name": resource.name})
                return redirect_after_post(request, reverse("dashboard:listing"))
        status = 400
    else:
        form = ResourceListingForm(
            initial=ResourceListingForm.initial_for(own, is_listed=own.is_listed)
        )
    return render_page_or_partial(
        request,
        page="dashboard/listing_resource.html",
        partial="dashboard/_listing_resource.html",
        context={"form": form, "resource": resource, "photo_url": photo_url(own.photo)},
        status=status,
    )
