"""Searching the index: relevance, typos, accents, distance, filters, privacy."""

from __future__ import annotations

import math
from typing import Any

import pytest

from apps.accounts.models import Tenant
from apps.directory.index.models import DirectoryEntry
from apps.directory.search import DirectoryQuery, directory_query_parse, directory_search
from apps.directory.services import listing_profile_update, resource_listing_update
from tests.directory.corpus import CORPUS, Corpus


def names(**params: Any) -> list[str]:
    found = directory_search(query=directory_query_parse(params))
    return [result.name for result in found.results]


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def test_search_exact_name_beats_description_match(corpus: Corpus) -> None:
    # given: "Anna Berg" is Anna's name and appears in Clara's description
    # when
    found = names(q="Anna Berg")
    # then
    assert found[:2] == ["Anna Berg", "Clara Stone"]


def test_search_tolerates_spelling_variants_and_typos(corpus: Corpus) -> None:
    assert names(q="fysio") == ["Anna Berg"]
    assert names(q="physoitherapist")[:1] == ["Anna Berg"]
    assert names(q="osteopth")[:1] == ["José Müller"]


def test_search_matches_without_accents(corpus: Corpus) -> None:
    assert names(q="jose muller") == ["José Müller"]
    assert names(q="malmo") == ["Clara Stone"]


def test_search_orders_by_distance_as_haversine_says(corpus: Corpus) -> None:
    # given: a point in Reading
    reading = (51.4543, -0.9781)
    # when
    found = directory_search(
        query=directory_query_parse(
            {"near": "51.4543,-0.9781", "radius_km": "300", "sort": "distance"}
        )
    )
    # then: the order and the distances are the haversine's
    expected = sorted(CORPUS, key=lambda row: haversine_km(reading, row[4]))
    assert [r.name for r in found.results] == [row[0] for row in expected]
    for result, row in zip(found.results, expected, strict=True):
        assert result.distance_km == pytest.approx(haversine_km(reading, row[4]), abs=0.01)


def test_search_radius_leaves_out_what_is_farther(corpus: Corpus) -> None:
    # London ↔ Oxford is 84 km, London ↔ Cambridge 80 km, London ↔ Manchester 262 km.
    assert sorted(names(near="51.5074,-0.1278", radius_km="82")) == ["Anna Berg", "Clara Stone"]
    assert names(near="51.5074,-0.1278", radius_km="1") == ["Anna Berg"]


def test_search_filters_by_language(corpus: Corpus) -> None:
    assert sorted(names(language="es")) == ["José Müller"]
    assert sorted(names(language="en")) == ["Anna Berg", "Clara Stone", "Dev Patel"]


def test_search_filters_by_rating(corpus: Corpus) -> None:
    # given: reviews are not built yet; ratings are written straight into the index
    DirectoryEntry.objects.filter(name="Dev Patel").update(rating_average=4.8, rating_count=9)
    DirectoryEntry.objects.filter(name="Anna Berg").update(rating_average=3.9, rating_count=2)
    # then
    assert names(min_rating="4.5") == ["Dev Patel"]
    assert names(min_rating="3.5", sort="rating") == ["Dev Patel", "Anna Berg"]


def test_search_filters_by_specialization_and_free_days(corpus: Corpus) -> None:
    assert names(specialization="dentistry") == ["Dev Patel"]
    soonest = directory_search(query=DirectoryQuery(sort="soonest")).results
    assert [r.name for r in soonest][:2] == ["Anna Berg", "Clara Stone"]
    first = soonest[0].next_free_at
    assert first is not None
    day = first.date().isoformat()
    assert "Anna Berg" in names(available_from=day, available_to=day)
    assert "José Müller" not in names(available_from=day, available_to=day)


def test_search_results_link_to_the_booking_page_with_the_person(corpus: Corpus) -> None:
    result = directory_search(query=directory_query_parse({"q": "Dev Patel"})).results[0]
    person = corpus.people["Dev Patel"]
    assert result.booking_url.startswith("http://acme.localhost")
    assert f"/{person.pk}/" in result.booking_url
    assert result.price_min == result.price_max


def test_opt_out_disappears_at_once(corpus: Corpus, acme: Tenant) -> None:
    # given
    assert names(q="Anna")
    # when: the business opts out
    listing_profile_update(data={"is_listed": False})
    # then: gone in the same transaction, before any worker ran
    assert names(q="Anna") == []
    assert not DirectoryEntry.objects.filter(tenant=acme).exists()


def test_one_person_opting_out_leaves_the_others(corpus: Corpus) -> None:
    resource_listing_update(resource=corpus.people["Anna Berg"], data={"is_listed": False})
    assert "Anna Berg" not in names()
    assert "Dev Patel" in names()


def test_closed_or_suspended_business_is_not_searched(corpus: Corpus, acme: Tenant) -> None:
    Tenant.objects.filter(pk=acme.pk).update(status=Tenant.Status.SUSPENDED)
    assert names() == []
    Tenant.objects.filter(pk=acme.pk).update(status=Tenant.Status.CLOSED)
    assert names() == []


def test_unlisted_business_is_never_indexed(acme: Tenant) -> None:
    from tests.directory.corpus import corpus_build

    corpus_build(acme, listed=False)
    assert not DirectoryEntry.objects.filter(tenant=acme).exists()


def test_search_is_one_statement_however_many_results(
    corpus: Corpus, django_assert_max_num_queries: Any
) -> None:
    query = directory_query_parse({"q": "a", "near": "51.5,-0.1", "radius_km": "400"})
    # (savepoint, the prelude, the search, release: the same for any number of rows)
    with django_assert_max_num_queries(4):
        found = directory_search(query=query)
    assert found.total == 4
