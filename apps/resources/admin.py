"""Support agents' view of a tenant's locations, resources and services (tenant admin).

Agents look things up, correct them, and add what a tenant asks them to add. Adding and
changing are adapters over the `*_create` / `*_update` services: the form runs the
service in a savepoint that is rolled back to collect its field errors, and
`save_model` runs it for real, so the admin validates and reschedules exactly like the
dashboard and the API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.db import models, transaction
from django.forms.models import construct_instance
from django.http import HttpRequest

from apps.accounts.admin_sites import tenant_admin_site
from apps.core.entitlements import PlanLimitReached
from apps.core.errors import ValidationFailed
from apps.resources.models import IntakeQuestion, Location, Resource, Service
from apps.resources.services import (
    location_create,
    location_update,
    resource_create,
    resource_update,
    service_create,
    service_update,
)


class _DryRun(Exception):
    pass


class ServiceBackedForm(forms.ModelForm):
    """An add or change form whose validation and writing are the domain services' own."""

    create_service: Callable[..., Any]
    update_service: Callable[..., Any]
    instance_argument: str

    @property
    def adding(self) -> bool:
        # Not `pk is None`: primary keys are UUIDs given when the instance is built.
        return bool(self.instance._state.adding)

    def service_data(self) -> dict[str, Any]:
        """A new object gets every field; a change passes only what changed."""
        if self.adding:
            return {
                name: self.cleaned_data[name] for name in self.fields if name in self.cleaned_data
            }
        return {name: self.cleaned_data[name] for name in self.changed_data}

    def service_run(self) -> models.Model:
        data = self.service_data()
        if self.adding:
            return type(self).create_service(**data)
        fresh = type(self.instance)._default_manager.get(pk=self.instance.pk)
        return type(self).update_service(**{self.instance_argument: fresh, "data": data})

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        try:
            with transaction.atomic():
                self.service_run()
                raise _DryRun
        except _DryRun:
            pass
        except ValidationFailed as failure:
            for detail in failure.details:
                self.add_error(
                    detail.field if detail.field in self.fields else None, detail.message
                )
        except PlanLimitReached as over:
            self.add_error(None, over.message)
        return cleaned

    def _post_clean(self) -> None:
        # The service, run by clean(), is the one validator: the model's own checks would
        # repeat its findings in worse words ("Constraint ... is violated"). The instance
        # still takes the form's values, for the admin's messages and history.
        self.instance = construct_instance(
            self, self.instance, self._meta.fields, self._meta.exclude
        )


class ServiceBackedAdmin(admin.ModelAdmin):
    def save_model(
        self, request: HttpRequest, obj: models.Model, form: forms.ModelForm, change: bool
    ) -> None:
        assert isinstance(form, ServiceBackedForm)
        saved = form.service_run()
        if not change:
            # The admin redirects to, and logs, the object it built: make it the saved one.
            obj.pk = saved.pk
            obj._state.adding = False

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # The update service already wrote many-to-many fields.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


class LocationForm(ServiceBackedForm):
    create_service = staticmethod(location_create)
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
    create_service = staticmethod(resource_create)
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
    create_service = staticmethod(service_create)
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


@admin.register(IntakeQuestion, site=tenant_admin_site)
class IntakeQuestionAdmin(admin.ModelAdmin):
    """Looked up, not edited here: questions change through the dashboard's services,
    which keep each service's count of questions asked (apps/resources/intake.py)."""

    list_display = ["label", "service", "kind", "required", "position", "removed_at"]
    list_filter = ["kind", "required"]
    search_fields = ["label", "service__name"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
