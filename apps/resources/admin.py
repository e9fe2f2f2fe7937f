"""Support agents' view of a tenant's locations, resources and services (tenant admin).

Creation belongs to the dashboard and the API; here agents look things up and correct
them. A change is an adapter over the `*_update` service: the form runs it in a
savepoint that is rolled back to collect its field errors, and `save_model` runs it for
real, so the admin validates and reschedules exactly like every other entry point.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.db import models, transaction
from django.http import HttpRequest

from apps.accounts.admin_sites import tenant_admin_site
from apps.accounts.errors import ValidationFailed
from apps.resources.models import Location, Resource, Service
from apps.resources.services import location_update, resource_update, service_update


class _DryRun(Exception):
    pass


class ServiceBackedForm(forms.ModelForm):
    """A change form whose validation is the domain service's own."""

    update_service: Callable[..., Any]
    instance_argument: str

    def service_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.changed_data}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors or self.instance.pk is None:
            return cleaned
        fresh = type(self.instance)._default_manager.get(pk=self.instance.pk)
        try:
            with transaction.atomic():
                type(self).update_service(
                    **{self.instance_argument: fresh, "data": self.service_data()}
                )
                raise _DryRun
        except _DryRun:
            pass
        except ValidationFailed as failure:
            for detail in failure.details:
                self.add_error(
                    detail.field if detail.field in self.fields else None, detail.message
                )
        return cleaned


class ServiceBackedAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: models.Model, form: forms.ModelForm, change: bool
    ) -> None:
        assert isinstance(form, ServiceBackedForm)
        fresh = type(obj)._default_manager.get(pk=obj.pk)
        type(form).update_service(**{form.instance_argument: fresh, "data": form.service_data()})

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # The update service already wrote many-to-many fields.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


class LocationForm(ServiceBackedForm):
    update_service = staticmethod(location_update)
    instance_argument = "location"

    class Meta:
        model = Location
        fields = ["name", "address", "timezone"]


@admin.register(Location, site=tenant_admin_site)
class LocationAdmin(ServiceBackedAdmin):
    form = LocationForm
    list_display = ["name", "timezone", "created_at"]
    list_filter = ["timezone"]
    search_fields = ["name", "address"]


class ResourceForm(ServiceBackedForm):
    update_service = staticmethod(resource_update)
    instance_argument = "resource"

    class Meta:
        model = Resource
        fields = ["name", "kind", "location", "tags", "is_active"]


@admin.register(Resource, site=tenant_admin_site)
class ResourceAdmin(ServiceBackedAdmin):
    form = ResourceForm
    list_display = ["name", "kind", "location", "is_active", "user_id", "created_at"]
    list_filter = ["kind", "is_active", "location"]
    search_fields = ["name", "tags"]
    readonly_fields = ["user_id"]


class ServiceForm(ServiceBackedForm):
    update_service = staticmethod(service_update)
    instance_argument = "service"

    class Meta:
        model = Service
        fields = [
            "name",
            "description",
            "duration_minutes",
            "buffer_before_minutes",
            "buffer_after_minutes",
            "capacity",
            "price",
            "currency",
            "resources",
            "min_notice_minutes",
            "horizon_days",
            "requires_payment",
            "is_active",
        ]

    def service_data(self) -> dict[str, Any]:
        data = super().service_data()
        if "resources" in data:
            data["resources"] = list(data["resources"])
        return data


@admin.register(Service, site=tenant_admin_site)
class ServiceAdmin(ServiceBackedAdmin):
    form = ServiceForm
    list_display = [
        "name",
        "duration_minutes",
        "capacity",
        "price",
        "currency",
        "requires_payment",
        "is_active",
    ]
    list_filter = ["is_active", "requires_payment", "currency", "capacity"]
    search_fields = ["name", "description"]
    filter_horizontal = ["resources"]
