"""Admin surface: the catalogue (locations, resources, services) and opening hours
(availability rules, slot generation). The services validate every field and refuse
the whole change on any problem (400 VALIDATION_ERROR listing each field).

Resources and services are never deleted (bookings keep pointing at them): DELETE
deactivates them, and PATCH `is_active: true` brings them back.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.fields import BoundedDateField
from apps.api.pagination import PAGE_PARAMETERS, paginate
from apps.api.permissions import role_required
from apps.api.principals import MANAGER, SCHEDULER
from apps.api.replay import idempotency_parameter, idempotent_response
from apps.api.selectors import availability_rule_get, availability_rule_list
from apps.api.serializers import (
    AdminResourceOutput,
    AdminServiceOutput,
    AvailabilityRuleOutput,
    LocationOutput,
    paginated,
)
from apps.api.views.base import BODY_ERRORS, ApiView, error_responses
from apps.calendars.grid.services import slots_materialize_dates
from apps.calendars.models import AvailabilityRule
from apps.calendars.rules.services import (
    MAX_RULE_CAPACITY,
    availability_rule_create,
    availability_rule_delete,
    availability_rule_update,
)
from apps.core.errors import FieldError, ValidationFailed
from apps.resources.intake import questions_prefetch
from apps.resources.models import MINUTES_PER_DAY, Resource
from apps.resources.selectors import (
    location_get,
    location_list,
    resource_get,
    resource_list,
    service_get,
    service_list,
)
from apps.resources.services import (
    MAX_CAPACITY,
    MAX_HORIZON_DAYS,
    MAX_MIN_NOTICE_MINUTES,
    MAX_TAGS,
    location_create,
    location_delete,
    location_update,
    resource_create,
    resource_update,
    service_create,
    service_update,
)

CatalogueRole = role_required(write=MANAGER)
ScheduleRole = role_required(write=SCHEDULER)
WRITE_ERRORS = error_responses(422, *BODY_ERRORS)
MAX_GENERATE_DAYS = 366


def _tags(*names: str) -> list[str]:
    return list(names)


# --- Locations ---------------------------------------------------------------------


class _LocationInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    timezone = serializers.CharField(max_length=64, help_text="IANA, e.g. Europe/London.")
    address = serializers.CharField(required=False, allow_blank=True, max_length=500)


class AdminLocationListApi(ApiView):
    permission_classes = [CatalogueRole]

    @extend_schema(
        operation_id="admin_locations_list",
        tags=_tags("Admin: catalogue"),
        parameters=PAGE_PARAMETERS,
        responses={200: paginated(LocationOutput, "AdminLocationPage"), **error_responses()},
    )
    def get(self, request: Request) -> Response:
        return Response(
            paginate(location_list(), params=request.query_params, serializer=LocationOutput)
        )

    @extend_schema(
        operation_id="admin_locations_create",
        tags=_tags("Admin: catalogue"),
        request=_LocationInput,
        parameters=[idempotency_parameter(required=False)],
        responses={201: LocationOutput, **WRITE_ERRORS},
    )
    def post(self, request: Request) -> Any:
        def create() -> tuple[int, Any]:
            data = self.validated(_LocationInput, request.data)
            return 201, LocationOutput(location_create(**data)).data

        return idempotent_response(request, actor=self.principal(request).actor, perform=create)


class AdminLocationDetailApi(ApiView):
    permission_classes = [CatalogueRole]

    @extend_schema(
        operation_id="admin_locations_retrieve",
        tags=_tags("Admin: catalogue"),
        responses={200: LocationOutput, **error_responses()},
    )
    def get(self, request: Request, location_id: UUID) -> Response:
        return Response(LocationOutput(location_get(location_id=location_id)).data)

    @extend_schema(
        operation_id="admin_locations_update",
        tags=_tags("Admin: catalogue"),
        request=_LocationInput(partial=True),
        parameters=[idempotency_parameter(required=False)],
        responses={200: LocationOutput, **WRITE_ERRORS},
        description="Changes the fields given. A new time zone rebuilds the slot grids of "
        "the location's resources (opening hours are local wall time).",
    )
    def patch(self, request: Request, location_id: UUID) -> Any:
        location = location_get(location_id=location_id)

        def update() -> tuple[int, Any]:
            data = self.validated(_LocationInput, request.data, partial=True)
            return 200, LocationOutput(location_update(location=location, data=data)).data

        return idempotent_response(request, actor=self.principal(request).actor, perform=update)

    @extend_schema(
        operation_id="admin_locations_delete",
        tags=_tags("Admin: catalogue"),
        parameters=[idempotency_parameter(required=False)],
        responses={204: None, **error_responses(409, 422)},
        description="Deletes a location no resource was ever at, with its opening hours. "
        "409 LOCATION_IN_USE when it has resources (they are deactivated, never deleted, "
        "so their bookings keep their place).",
    )
    def delete(self, request: Request, location_id: UUID) -> Any:
        location = location_get(location_id=location_id)

        def delete() -> tuple[int, Any]:
            location_delete(location=location)
            return 204, None

        return idempotent_response(request, actor=self.principal(request).actor, perform=delete)


# --- Resources ---------------------------------------------------------------------


class _ResourceInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    kind = serializers.ChoiceField(choices=Resource.Kind.choices, required=False)
    location = serializers.UUIDField()
    tags = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, max_length=MAX_TAGS
    )
    is_active = serializers.BooleanField(required=False)
    user = serializers.UUIDField(
        required=False, allow_null=True, help_text="A member who manages this calendar."
    )


class _ResourceFilter(serializers.Serializer):
    location = serializers.UUIDField(required=False)
    service = serializers.UUIDField(required=False)


class AdminResourceListApi(ApiView):
    permission_classes = [CatalogueRole]

    @extend_schema(
        operation_id="admin_resources_list",
        tags=_tags("Admin: catalogue"),
        parameters=[_ResourceFilter, *PAGE_PARAMETERS],
        responses={200: paginated(AdminResourceOutput, "AdminResourcePage"), **error_responses()},
        description="Every resource, inactive ones included.",
    )
    def get(self, request: Request) -> Response:
        filters = self.query(request, _ResourceFilter)
        resources = resource_list(
            include_inactive=True,
            location=location_get(location_id=filters["location"])
            if "location" in filters
            else None,
            service=service_get(service_id=filters["service"]) if "service" in filters else None,
        )
        return Response(
            paginate(resources, params=request.query_params, serializer=AdminResourceOutput)
        )

    @extend_schema(
        operation_id="admin_resources_create",
        tags=_tags("Admin: catalogue"),
        request=_ResourceInput,
        parameters=[idempotency_parameter(required=False)],
        responses={201: AdminResourceOutput, **WRITE_ERRORS},
    )
    def post(self, request: Request) -> Any:
        def create() -> tuple[int, Any]:
            data = self.validated(_ResourceInput, request.data)
            return 201, AdminResourceOutput(resource_create(**data)).data

        return idempotent_response(request, actor=self.principal(request).actor, perform=create)


class AdminResourceDetailApi(ApiView):
    permission_classes = [CatalogueRole]

    @extend_schema(
        operation_id="admin_resources_retrieve",
        tags=_tags("Admin: catalogue"),
        responses={200: AdminResourceOutput, **error_responses()},
    )
    def get(self, request: Request, resource_id: UUID) -> Response:
        return Response(AdminResourceOutput(resource_get(resource_id=resource_id)).data)

    @extend_schema(
        operation_id="admin_resources_update",
        tags=_tags("Admin: catalogue"),
        request=_ResourceInput(partial=True),
        parameters=[idempotency_parameter(required=False)],
        responses={200: AdminResourceOutput, **WRITE_ERRORS},
    )
    def patch(self, request: Request, resource_id: UUID) -> Any:
        resource = resource_get(resource_id=resource_id)

        def update() -> tuple[int, Any]:
            data = self.validated(_ResourceInput, request.data, partial=True)
            return 200, AdminResourceOutput(resource_update(resource=resource, data=data)).data

        return idempotent_response(request, actor=self.principal(request).actor, perform=update)

    @extend_schema(
        operation_id="admin_resources_deactivate",
        tags=_tags("Admin: catalogue"),
        parameters=[idempotency_parameter(required=False)],
        responses={204: None, **WRITE_ERRORS},
        description="Deactivates the resource: it takes no new bookings; existing ones stay.",
    )
    def delete(self, request: Request, resource_id: UUID) -> Any:
        resource = resource_get(resource_id=resource_id)

        def deactivate() -> tuple[int, Any]:
            resource_update(resource=resource, data={"is_active": False})
            return 204, None

        return idempotent_response(request, actor=self.principal(request).actor, perform=deactivate)


# --- Services ----------------------------------------------------------------------


class _ServiceInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    duration_minutes = serializers.IntegerField(min_value=1, max_value=MINUTES_PER_DAY)
    buffer_before_minutes = serializers.IntegerField(
        required=False, min_value=0, max_value=MINUTES_PER_DAY
    )
    buffer_after_minutes = serializers.IntegerField(
        required=False, min_value=0, max_value=MINUTES_PER_DAY
    )
    capacity = serializers.IntegerField(required=False, min_value=1, max_value=MAX_CAPACITY)
    price = serializers.DecimalField(
        required=False, max_digits=10, decimal_places=2, min_value=0, help_text='e.g. "45.00"'
    )
    currency = serializers.CharField(required=False, max_length=3, help_text="ISO 4217.")
    resources = serializers.ListField(
        child=serializers.UUIDField(), required=False, max_length=1000
    )
    min_notice_minutes = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=MAX_MIN_NOTICE_MINUTES
    )
    horizon_days = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_HORIZON_DAYS
    )
    requires_payment = serializers.BooleanField(required=False)
    deposit_amount = serializers.DecimalField(
        required=False,
        allow_null=True,
        max_digits=10,
        decimal_places=2,
        help_text="Taken online instead of the whole price (below the price).",
    )
    deposit_percent = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=99,
        help_text="Or a percentage of the price (not both).",
    )
    is_active = serializers.BooleanField(required=False)
    customers_may_repeat = serializers.BooleanField(
        required=False,
        help_text="Customers may book it as a weekly series (POST bookings/series); only "
        "a service not paid online.",
    )


class AdminServiceListApi(ApiView):
    permission_classes = [CatalogueRole]

    @extend_schema(
        operation_id="admin_services_list",
        tags=_tags("Admin: catalogue"),
        parameters=PAGE_PARAMETERS,
        responses={200: paginated(AdminServiceOutput, "AdminServicePage"), **error_responses()},
        description="Every service, inactive ones included.",
    )
    def get(self, request: Request) -> Response:
        services = service_list(include_inactive=True).prefetch_related(
            "resources", questions_prefetch()
        )
        return Response(
            paginate(services, params=request.query_params, serializer=AdminServiceOutput)
        )

    @extend_schema(
        operation_id="admin_services_create",
        tags=_tags("Admin: catalogue"),
        request=_ServiceInput,
        parameters=[idempotency_parameter(required=False)],
        responses={201: AdminServiceOutput, **WRITE_ERRORS},
    )
    def post(self, request: Request) -> Any:
        def create() -> tuple[int, Any]:
            data = self.validated(_ServiceInput, request.data)
            return 201, AdminServiceOutput(service_create(**data)).data

        return idempotent_response(request, actor=self.principal(request).actor, perform=create)


class AdminServiceDetailApi(ApiView):
    permission_classes = [CatalogueRole]

    @extend_schema(
        operation_id="admin_services_retrieve",
        tags=_tags("Admin: catalogue"),
        responses={200: AdminServiceOutput, **error_responses()},
    )
    def get(self, request: Request, service_id: UUID) -> Response:
        return Response(AdminServiceOutput(service_get(service_id=service_id)).data)

    @extend_schema(
        operation_id="admin_services_update",
        tags=_tags("Admin: catalogue"),
        request=_ServiceInput(partial=True),
        parameters=[idempotency_parameter(required=False)],
        responses={200: AdminServiceOutput, **WRITE_ERRORS},
    )
    def patch(self, request: Request, service_id: UUID) -> Any:
        service = service_get(service_id=service_id)

        def update() -> tuple[int, Any]:
            data = self.validated(_ServiceInput, request.data, partial=True)
            return 200, AdminServiceOutput(service_update(service=service, data=data)).data

        return idempotent_response(request, actor=self.principal(request).actor, perform=update)

    @extend_schema(
        operation_id="admin_services_deactivate",
        tags=_tags("Admin: catalogue"),
        parameters=[idempotency_parameter(required=False)],
        responses={204: None, **WRITE_ERRORS},
        description="Deactivates the service: it is no longer offered; existing bookings stay.",
    )
    def delete(self, request: Request, service_id: UUID) -> Any:
        service = service_get(service_id=service_id)

        def deactivate() -> tuple[int, Any]:
            service_update(service=service, data={"is_active": False})
            return 204, None

        return idempotent_response(request, actor=self.principal(request).actor, perform=deactivate)


# --- Availability rules ------------------------------------------------------------


class _RuleInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AvailabilityRule.Kind.choices)
    resource = serializers.UUIDField(required=False, allow_null=True)
    location = serializers.UUIDField(required=False, allow_null=True)
    days_of_week = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=7),
        required=False,
        max_length=7,
        help_text="ISO weekdays, Monday = 1.",
    )
    start_time = serializers.CharField(
        required=False, allow_null=True, max_length=5, help_text='Local wall time, "09:00".'
    )
    end_time = serializers.CharField(
        required=False, allow_null=True, max_length=5, help_text='"17:00"; "24:00" = midnight.'
    )
    valid_from = BoundedDateField(required=False, allow_null=True)
    valid_to = BoundedDateField(required=False, allow_null=True)
    granularity_minutes = serializers.IntegerField(required=False, min_value=5, max_value=720)
    capacity = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_RULE_CAPACITY
    )
    is_closed = serializers.BooleanField(required=False)


class _RuleFilter(serializers.Serializer):
    resource = serializers.UUIDField(required=False)
    location = serializers.UUIDField(required=False)


class AdminRuleListApi(ApiView):
    permission_classes = [ScheduleRole]

    @extend_schema(
        operation_id="admin_availability_rules_list",
        tags=_tags("Admin: opening hours"),
        parameters=[_RuleFilter, *PAGE_PARAMETERS],
        responses={
            200: paginated(AvailabilityRuleOutput, "AvailabilityRulePage"),
            **error_responses(),
        },
    )
    def get(self, request: Request) -> Response:
        filters = self.query(request, _RuleFilter)
        rules = availability_rule_list(
            resource_id=filters.get("resource"), location_id=filters.get("location")
        )
        return Response(
            paginate(rules, params=request.query_params, serializer=AvailabilityRuleOutput)
        )

    @extend_schema(
        operation_id="admin_availability_rules_create",
        tags=_tags("Admin: opening hours"),
        request=_RuleInput,
        parameters=[idempotency_parameter(required=False)],
        responses={201: AvailabilityRuleOutput, **WRITE_ERRORS},
        description="Hours of one resource or of every resource at a location, in the "
        "location's wall time. The slot grids are rebuilt after the change.",
    )
    def post(self, request: Request) -> Any:
        def create() -> tuple[int, Any]:
            data = self.validated(_RuleInput, request.data)
            return 201, AvailabilityRuleOutput(availability_rule_create(**data)).data

        return idempotent_response(request, actor=self.principal(request).actor, perform=create)


class AdminRuleDetailApi(ApiView):
    permission_classes = [ScheduleRole]

    @extend_schema(
        operation_id="admin_availability_rules_retrieve",
        tags=_tags("Admin: opening hours"),
        responses={200: AvailabilityRuleOutput, **error_responses()},
    )
    def get(self, request: Request, rule_id: UUID) -> Response:
        return Response(AvailabilityRuleOutput(availability_rule_get(rule_id=rule_id)).data)

    @extend_schema(
        operation_id="admin_availability_rules_update",
        tags=_tags("Admin: opening hours"),
        request=_RuleInput(partial=True),
        parameters=[idempotency_parameter(required=False)],
        responses={200: AvailabilityRuleOutput, **WRITE_ERRORS},
    )
    def patch(self, request: Request, rule_id: UUID) -> Any:
        rule = availability_rule_get(rule_id=rule_id)

        def update() -> tuple[int, Any]:
            data = self.validated(_RuleInput, request.data, partial=True)
            updated = availability_rule_update(rule=rule, data=data)
            return 200, AvailabilityRuleOutput(updated).data

        return idempotent_response(request, actor=self.principal(request).actor, perform=update)

    @extend_schema(
        operation_id="admin_availability_rules_delete",
        tags=_tags("Admin: opening hours"),
        parameters=[idempotency_parameter(required=False)],
        responses={204: None, **WRITE_ERRORS},
    )
    def delete(self, request: Request, rule_id: UUID) -> Any:
        rule = availability_rule_get(rule_id=rule_id)

        def delete() -> tuple[int, Any]:
            availability_rule_delete(rule=rule)
            return 204, None

        return idempotent_response(request, actor=self.principal(request).actor, perform=delete)


# --- Slot generation ---------------------------------------------------------------


class SlotsGenerateApi(ApiView):
    permission_classes = [ScheduleRole]

    class InputSerializer(serializers.Serializer):
        to = BoundedDateField(help_text="Last local date (inclusive).")
        resources = serializers.ListField(
            child=serializers.UUIDField(),
            required=False,
            max_length=1000,
            help_text="Only these resources (default: every active one).",
        )

    InputSerializer._declared_fields["from"] = BoundedDateField(help_text="First local date.")

    @extend_schema(
        operation_id="admin_slots_generate",
        tags=_tags("Admin: opening hours"),
        request=InputSerializer,
        parameters=[idempotency_parameter(required=False)],
        responses={
            200: inline_serializer(
                "SlotGeneration",
                fields={
                    "created": serializers.IntegerField(min_value=0),
                    "kept": serializers.IntegerField(min_value=0),
                    "removed": serializers.IntegerField(min_value=0),
                    "blocked": serializers.IntegerField(
                        min_value=0, help_text="Slots no rule allows that still hold bookings."
                    ),
                },
            ),
            **WRITE_ERRORS,
        },
        description="Makes the slot grids from `from` to `to` (each resource's local "
        "dates, from now on) match the opening hours. Idempotent: running it again "
        "creates nothing and never drops a slot that carries a booking. Slots are made "
        "up to the booking horizon: a range ending after its last date is refused with "
        "422 `BEYOND_HORIZON`, which names that date.",
    )
    def post(self, request: Request) -> Any:
        def generate() -> tuple[int, Any]:
            data = self.validated(self.InputSerializer, request.data)
            first, last = data["from"], data["to"]
            if last < first:
                raise ValidationFailed(
                    _("The date range is not valid."),
                    [FieldError("to", _("The last date must not be before the first date."))],
                )
            if (last - first).days >= MAX_GENERATE_DAYS:
                raise ValidationFailed(
                    _("The date range is too long."),
                    [
                        FieldError(
                            "to",
                            _("Generate at most %(days)s days at a time.")
                            % {"days": MAX_GENERATE_DAYS},
                        )
                    ],
                )
            return 200, _slots_generate(first=first, last=last, resource_ids=data.get("resources"))

        return idempotent_response(request, actor=self.principal(request).actor, perform=generate)


def _slots_generate(
    *, first: dt.date, last: dt.date, resource_ids: list[UUID] | None
) -> dict[str, int]:
    """Each active resource's grid over its location's local dates first…last, never
    before now and never past the booking horizon (422 BEYOND_HORIZON names the limit)."""
    resources = Resource.objects.filter(is_active=True).select_related("location").order_by("pk")
    if resource_ids is not None:
        resources = resources.filter(pk__in=resource_ids)
    return slots_materialize_dates(resources=resources, first=first, last=last).as_dict()
