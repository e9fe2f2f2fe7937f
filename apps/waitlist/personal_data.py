"""The waitlist's part of a customer's data export (its erasure is in receivers.py)."""

from __future__ import annotations

from apps.core.personal_data import (
    PersonalDataSubject,
    SectionRows,
    personal_data_section_register,
)
from apps.waitlist.models import WaitlistEntry


def waitlist_export(subject: PersonalDataSubject) -> SectionRows:
    entries = (
        WaitlistEntry.objects.filter(customer_id=subject.customer_id)
        .select_related("service", "resource")
        .prefetch_related("offers")
        .order_by("created_at", "id")
    )
    return [
        {
            "id": str(entry.pk),
            "service": entry.service.name,
            "resource": entry.resource.name if entry.resource is not None else None,
            "earliest_at": entry.earliest_at.isoformat(),
            "latest_at": entry.latest_at.isoformat(),
            "status": entry.status,
            "name": entry.contact_name,
            "email": entry.email,
            "phone": entry.phone,
            "language": entry.language,
            "answers": [answer.as_dict() for answer in entry.answers],
            "joined_at": entry.created_at.isoformat(),
            "offers": [
                {
                    "booking_id": str(offer.booking_id),
                    "status": offer.status,
                    "expires_at": offer.expires_at.isoformat(),
                }
                for offer in entry.offers.all()
            ],
        }
        for entry in entries
    ]


def connect() -> None:
    personal_data_section_register("waitlist", waitlist_export)
