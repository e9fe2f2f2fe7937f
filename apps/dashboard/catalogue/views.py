"""Dashboard screens for "Services & resources" (managers and up): the catalogue, and
adding or changing a location, a resource or a service. Deactivating is a checkbox on the
edit form: nothing here is deleted, bookings keep pointing at what they were made for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from apps.accounts.models import Membership
from apps.accounts.selectors import tenant_current
from apps.core.entitlements import PlanLimitReached
from apps.core.errors import ValidationFailed
from apps.core.htmx import redirect_after_post, render_page_or_partial
from apps.dashboard.access import membership_required
from apps.dashboard.catalogue.forms import (
    LocationForm,
    ResourceForm,
    ServiceErrorsForm,
    ServiceForm,
)
from apps.dashboard.catalogue.selectors import catalogue_get, staff_users
from apps.resources.intake import questions_asked
from apps.resources.selectors import (
    location_get,
    location_list,
    resource_get,
    resource_list,
    service_get,
    service_list,
)
from apps.resources.services import (
    location_create,
    location_update,
    resource_create,
    resource_update,
    service_create,
    service_update,
)

# Each edit screen's title, button and saved message, whole sentences for translators.
_WORDING = {
    "location": (
        gettext_lazy("Add a location"),
        gettext_lazy("Save location"),
        gettext_lazy("Location “%(name)s” saved."),
    ),
    "resource": (
        gettext_lazy("Add a resource"),
        gettext_lazy("Save resource"),
        gettext_lazy("Resource “%(name)s” saved."),
    ),
    "service": (
        gettext_lazy("Add a service"),
        gettext_lazy("Save service"),
        gettext_lazy("Service “%(name)s” saved."),
    ),
}

MANAGER = Membership.Role.MANAGER


@require_GET
@membership_required(MANAGER)
def catalogue(request: HttpRequest) -> HttpResponse:
    return render_page_or_partial(
        request,
        page="dashboard/catalogue.html",
        partial="dashboard/_catalogue.html",
        context={"catalogue": catalogue_get()},
    )


def _edit_screen(
    request: HttpRequest,
    *,
    form: ServiceErrorsForm,
    save: Callable[[dict[str, Any]], Model],
    noun: str,
    instance: Model | None,
    action: str,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    """GET shows the form; POST saves through `save` (a service call) and goes back to
    the catalogue, or shows the service's field errors beside what was typed."""
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                saved = save(form.service_data())
            except (ValidationFailed, PlanLimitReached) as error:
                form.apply_domain_error(error)
            else:
                messages.success(request, str(_WORDING[noun][2]) % {"name": saved})
                return redirect_after_post(request, reverse("dashboard:catalogue"))
    return render_page_or_partial(
        request,
        page="dashboard/catalogue_form.html",
        partial="dashboard/_catalogue_form.html",
        context={
            "form": form,
            "noun": noun,
            "add_title": _WORDING[noun][0],
            "save_label": _WORDING[noun][1],
            "instance": instance,
            "action": action,
            **(extra or {}),
        },
        status=status,
    )


def _found(getter: Callable[..., Model], **kwargs: Any) -> Any:
    # NotFound becomes a 404 in membership_required.
    return getter(**kwargs)


# --- Locations ---------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@membership_required(MANAGER)
def location_create_view(request: HttpRequest) -> HttpResponse:
    tenant = tenant_current()
    form = LocationForm(request.POST or None, initial={"timezone": tenant.timezone})
    return _edit_screen(
        request,
        form=form,
        save=lambda data: location_create(**data),
        noun="location",
        instance=None,
        action=reverse("dashboard:location_create"),
    )


@require_http_methods(["GET", "POST"])
@membership_required(MANAGER)
def location_edit_view(request: HttpRequest, location_id: UUID) -> HttpResponse:
    location = _found(location_get, location_id=location_id)
    form = LocationForm(request.POST or None, initial=LocationForm.initial_for(location))
    return _edit_screen(
        request,
        form=form,
        save=lambda data: location_update(location=location, data=data),
        noun="location",
        instance=location,
        action=reverse("dashboard:location_edit", kwargs={"location_id": location.pk}),
    )


# --- Resources ---------------------------------------------------------------------


def _resource_form(request: HttpRequest, initial: dict[str, Any]) -> ResourceForm:
    return ResourceForm(
        request.POST or None,
        initial=initial,
        locations=list(location_list()),
        users=staff_users(tenant=tenant_current()),
    )


@require_http_methods(["GET", "POST"])
@membership_required(MANAGER)
def resource_create_view(request: HttpRequest) -> HttpResponse:
    form = _resource_form(request, {"is_active": True, "location": request.GET.get("location")})
    return _edit_screen(
        request,
        form=form,
        save=lambda data: resource_create(**data),
        noun="resource",
        instance=None,
        action=reverse("dashboard:resource_create"),
    )


@require_http_methods(["GET", "POST"])
@membership_required(MANAGER)
def resource_edit_view(request: HttpRequest, resource_id: UUID) -> HttpResponse:
    resource = _found(resource_get, resource_id=resource_id)
    form = _resource_form(request, ResourceForm.initial_for(resource))
    return _edit_screen(
        request,
        form=form,
        save=lambda data: resource_update(resource=resource, data=data),
        noun="resource",
        instance=resource,
        action=reverse("dashboard:resource_edit", kwargs={"resource_id": resource.pk}),
    )


# --- Services ----------------------------------------------------------------------


def _service_form(request: HttpRequest, initial: dict[str, Any]) -> ServiceForm:
    return ServiceForm(
        request.POST or None,
        initial=initial,
        resources=list(resource_list(include_inactive=True)),
    )


@require_http_methods(["GET", "POST"])
@membership_required(MANAGER)
def service_create_view(request: HttpRequest) -> HttpResponse:
    # A business usually prices everything in one currency: start from the last one used.
    last = service_list(include_inactive=True).order_by("-created_at").first()
    form = _service_form(
        request,
        {
            "duration_minutes": 30,
            "buffer_before_minutes": 0,
            "buffer_after_minutes": 0,
            "capacity": 1,
            "price": "0",
            "currency": last.currency if last else "USD",
            "is_active": True,
        },
    )
    return _edit_screen(
        request,
        form=form,
        save=lambda data: service_create(**data),
        noun="service",
        instance=None,
        action=reverse("dashboard:service_create"),
    )


@require_http_methods(["GET", "POST"])
@membership_required(MANAGER)
def service_edit_view(request: HttpRequest, service_id: UUID) -> HttpResponse:
    service = _found(service_get, service_id=service_id)
    form = _service_form(request, ServiceForm.initial_for(service))
    return _edit_screen(
        request,
        form=form,
        save=lambda data: service_update(service=service, data=data),
        noun="service",
        instance=service,
        action=reverse("dashboard:service_edit", kwargs={"service_id": service.pk}),
        # Its intake questions are listed under the form (dashboard/_service_questions.html).
        extra={"questions": list(questions_asked(service=service))},
    )
