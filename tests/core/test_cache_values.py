"""Model rows as JSON cache values (apps/core/cache_values.py) come back exactly."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import models

from apps.api.models import ApiKey
from apps.core.cache_values import model_cache_value, model_from_cache_value
from apps.resources.models import Location, Resource, Service
from tests.plugins.factories import LocationFactory, ResourceFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def _through_json(row: models.Model) -> models.Model:
    return model_from_cache_value(type(row), json.loads(json.dumps(model_cache_value(row))))


def _assert_same(read: models.Model, row: models.Model) -> None:
    row.refresh_from_db()  # what the database holds, not what Python was given
    for field in row._meta.concrete_fields:
        expected, got = getattr(row, field.attname), getattr(read, field.attname)
        assert got == expected, field.name
        assert type(got) is type(expected), field.name
    assert read.pk == row.pk and not read._state.adding and read._state.db == "default"


def test_catalogue_rows_come_back_exactly(acme):
    location = LocationFactory.create(address="1 Road\nLondon")
    resource = ResourceFactory.create(location=location, tags=["massage", "ünïcode"])
    service = ServiceFactory.create(
        price=Decimal("12.50"),
        deposit_amount=None,
        min_notice_minutes=90,
        horizon_days=None,
        resources=[resource],
    )

    for row in (location, resource, service):
        _assert_same(_through_json(row), row)
    assert isinstance(_through_json(service), Service)
    assert isinstance(_through_json(resource), Resource)
    assert isinstance(_through_json(location), Location)


def test_a_datetime_keeps_its_microseconds_and_offset(acme):
    key = ApiKey.objects.create(prefix="tn_probe", secret_hash="x" * 64, role="admin")
    key.last_used_at = dt.datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=dt.UTC)
    key.save(update_fields=["last_used_at"])

    read = _through_json(key)

    _assert_same(read, key)
    assert read.last_used_at == dt.datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=dt.UTC)


def test_an_entry_missing_a_field_is_refused():
    value = model_cache_value(ApiKey(prefix="tn_x", secret_hash="y", role="admin"))
    del value["role"]

    with pytest.raises(KeyError):
        model_from_cache_value(ApiKey, value)
