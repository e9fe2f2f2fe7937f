"""A small fixed corpus of listed people in acme, indexed (the directory tests' data)."""

from __future__ import annotations

from dataclasses import dataclass

from apps.accounts.models import Tenant
from apps.directory.index.models import DirectoryRefresh
from apps.directory.indexing import directory_index_rebuild
from apps.directory.models import ListingProfile, ResourceListing
from apps.resources.models import Resource
from tests.dashboard.factories import (
    LocationFactory,
    ResourceFactory,
    ServiceFactory,
    local_at,
    slots_open,
)

# (name, specializations, languages, description, (latitude, longitude))
CORPUS = [
    (
        "Anna Berg",
        ["physiotherapy"],
        ["en", "sv"],
        "Sports injuries and rehab.",
        (51.5074, -0.1278),
    ),
    ("José Müller", ["osteopathy"], ["de", "es"], "Back pain, posture.", (51.7520, -1.2577)),
    ("Clara Stone", ["massage"], ["en"], "Trained with Anna Berg in Malmö.", (52.2053, 0.1218)),
    (
        "Dev Patel",
        ["dentistry"],
        ["en", "hi"],
        "Gentle dentist for nervous patients.",
        (53.4808, -2.2426),
    ),
]


@dataclass
class Corpus:
    tenant: Tenant
    people: dict[str, Resource]


def corpus_build(tenant: Tenant, *, listed: bool = True) -> Corpus:
    location = LocationFactory.create(name="Main", timezone="Europe/London")
    ListingProfile.objects.update_or_create(
        singleton=True,
        defaults={
            "is_listed": listed,
            "display_name": "Acme Health",
            "languages": ["en"],
            "payment_modes": ["card"],
        },
    )
    people: dict[str, Resource] = {}
    for index, (name, specs, languages, description, (lat, lon)) in enumerate(CORPUS):
        person = ResourceFactory.create(name=name, location=location)
        ServiceFactory.create(name=f"Session {index}", price=40 + index * 10, resources=[person])
        ResourceListing.objects.create(
            resource=person,
            specializations=specs,
            languages=languages,
            description=description,
            latitude=lat,
            longitude=lon,
        )
        # Anna and Dev are free sooner than the others.
        slots_open(resource=person, starts_at=local_at(location, days=2 + index % 2 * 5, hour=10))
        people[name] = person
    directory_index_rebuild(tenant=tenant)
    # The corpus starts settled: the refreshes its own writes asked for are done.
    DirectoryRefresh.objects.all().delete()
    return Corpus(tenant=tenant, people=people)
