"""What a business holds about one of its customers, asked of every app that holds some
of it (a GDPR access request: apps/bookings/customer_data.py).

The booking core owns customers and their bookings and answers for those itself; apps
above it (notifications: messages and webhook events) register a **section** at
start-up that lists what they hold about the customer's bookings, so every import still
points down. Erasure goes the other way, as a domain event the booking core sends
(`bookings.signals.customer_erased`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class PersonalDataSubject:
    """The customer whose data is asked for, and every booking made for them."""

    customer_id: UUID
    booking_ids: tuple[UUID, ...]


# A section's rows: flat-ish dicts of JSON-ready values (str, int, bool, None, lists and
# dicts of those), one per thing held, oldest first.
SectionRows = list[dict[str, Any]]
SectionExporter = Callable[[PersonalDataSubject], SectionRows]

_SECTIONS: dict[str, SectionExporter] = {}


def personal_data_section_register(name: str, exporter: SectionExporter) -> None:
    """Called from an AppConfig.ready(); registering a name again replaces it."""
    _SECTIONS[name] = exporter


def personal_data_sections(subject: PersonalDataSubject) -> dict[str, SectionRows]:
    """Every registered section for `subject`, by name (in name order)."""
    return {name: _SECTIONS[name](subject) for name in sorted(_SECTIONS)}
