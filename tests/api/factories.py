"""Catalogue and slot rows for API tests (ORM level: the services have their own tests)."""

from __future__ import annotations

from tests.bookings.factories import future_start, slots_create
from tests.plugins import factories as catalogue

__all__ = ["LocationFactory", "ResourceFactory", "ServiceFactory", "future_start", "slots_create"]

LocationFactory = catalogue.LocationFactory
ResourceFactory = catalogue.ResourceFactory


class ServiceFactory(catalogue.ServiceFactory):
    currency = "GBP"
    min_notice_minutes = 0
