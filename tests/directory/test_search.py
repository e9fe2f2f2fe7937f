"""Searching the index: relevance, typos, accents, distance, filters, privacy."""

from __future__ import annotations

import math
from typing import Any
from uuid import uuid5

import pytest

from apps.accounts.models import Tenant
from apps.accounts.services import tenant_live_mark
from apps.directory.index.models import DirectoryEntry
from apps.directory.indexing import directory_index_rebuild
from apps.directory.models import ListingProfile, ResourceListing
from apps.directory.search import DirectoryQuery, directory_query_parse, directory_search
from apps.directory.services import listing_profile_update, resource_listing_update
from apps.resources.models import Resource
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


def test_similar_rows_are_only_the_fallback_when_no_row_has_the_words(
    corpus: Corpus, settings: Any
) -> None:
    # given: a threshold so low that every row is "similar" to any word
    settings.DIRECTORY_FUZZY_THRESHOLD = 0.01
    # when a word some row has is searched: only the rows that have it
    assert names(q="massage") == ["Clara Stone"]
    # and when no row has it (a typo): the similar rows, the likeliest first
    found = names(q="masage")
    assert found[0] == "Clara Stone"
    assert len(found) > 1
    # and the fallback asks the same filters: no row with the words in that language
    # means the similar rows in that language
    assert names(q="massage", language="de") == ["José Müller"]


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


def test_a_business_not_yet_live_is_neither_searched_nor_indexed(
    corpus: Corpus, acme: Tenant
) -> None:
    # given: the business has not gone live (its first-day checklist is not done)
    Tenant.objects.filter(pk=acme.pk).update(live_at=None)
    # then: its rows are not searched, and a rebuild writes none
    assert names() == []
    assert directory_index_rebuild(tenant=acme) == 0
    assert not DirectoryEntry.objects.filter(tenant=acme).exists()


def test_going_live_lists_a_listed_business(
    corpus: Corpus, acme: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    # given: listed before it went live
    Tenant.objects.filter(pk=acme.pk).update(live_at=None)
    directory_index_rebuild(tenant=acme)
    acme.refresh_from_db()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        tenant_live_mark(tenant=acme)
    # then: its people are found (the refresh it asked for ran on commit)
    assert "Anna Berg" in names()


def test_internal_resource_tags_stay_out_of_the_index(corpus: Corpus, acme: Tenant) -> None:
    # given: staff tagged Anna for internal use; her listing has tags of its own
    anna = corpus.people["Anna Berg"]
    Resource.objects.filter(pk=anna.pk).update(tags=["vip-only", "do-not-book"])
    ResourceListing.objects.filter(resource=anna).update(tags=["lakeside"])
    # when
    directory_index_rebuild(tenant=acme)
    # then
    assert DirectoryEntry.objects.get(resource_id=anna.pk).tags == ["lakeside"]
    assert names(q="vip") == []
    assert names(q="lakeside") == ["Anna Berg"]


def test_entry_ids_are_unique_across_businesses(corpus: Corpus, acme: Tenant) -> None:
    # An entry's id derives from its business and resource: a restored copy of a
    # business (same resource ids) gets entries of its own.
    anna = corpus.people["Anna Berg"]
    entry = DirectoryEntry.objects.get(resource_id=anna.pk)
    assert entry.id == uuid5(acme.pk, str(anna.pk))
    assert entry.id != anna.pk
    directory_index_rebuild(tenant=acme)
    assert DirectoryEntry.objects.get(resource_id=anna.pk).id == entry.id


def test_photo_urls_in_the_index_are_absolute(corpus: Corpus, acme: Tenant) -> None:
    ListingProfile.objects.update(photo=f"directory/{acme.schema_name}/face.jpg")
    directory_index_rebuild(tenant=acme)
    urls = set(DirectoryEntry.objects.filter(tenant=acme).values_list("photo_url", flat=True))
    (url,) = urls
    assert url.startswith(("http://", "https://"))
    assert url.endswith(f"/media/directory/{acme.schema_name}/face.jpg")


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
