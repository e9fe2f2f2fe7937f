"""Which language a request is answered in (apps/core/languages.py), the codes we speak,
and money as each language writes it (apps/core/money.py)."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import translation

from apps.core.errors import ValidationFailed
from apps.core.languages import (
    LanguageMiddleware,
    is_language,
    language_check,
    language_choices,
    request_language,
)
from apps.core.money import money_format

BUSINESS = SimpleNamespace(schema_name="acme", locale="fr")


def _request(path: str = "/", *, tenant=BUSINESS, user=None, cookie: str = "", **headers):
    request = RequestFactory().get(path, **headers)
    request.tenant = tenant  # type: ignore[attr-defined]
    request.user = user or AnonymousUser()
    if cookie:
        request.COOKIES["django_language"] = cookie
    return request


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        # the browser's first language we speak, a regional variant folded to ours
        ({"HTTP_ACCEPT_LANGUAGE": "ja, de-AT;q=0.8, en;q=0.5"}, ("de", None)),
        # q=0 refuses a language (and the list is sorted, so every one after it)
        ({"HTTP_ACCEPT_LANGUAGE": "ja, de;q=0"}, ("fr", None)),
        ({"HTTP_ACCEPT_LANGUAGE": "pt-BR, pt;q=0.9, es;q=0.5"}, ("es", None)),
        # none of ours: the business's default
        ({"HTTP_ACCEPT_LANGUAGE": "ja, zh;q=0.8"}, ("fr", None)),
        ({}, ("fr", None)),
        # an earlier pick (the cookie) wins over the browser
        ({"cookie": "es", "HTTP_ACCEPT_LANGUAGE": "de"}, ("es", None)),
        # and the pick of this request over both, to be remembered
        ({"path": "/?lang=de", "cookie": "es", "HTTP_ACCEPT_LANGUAGE": "fr"}, ("de", "de")),
        # a cookie with a code we do not speak is ignored
        ({"cookie": "xx", "HTTP_ACCEPT_LANGUAGE": "es"}, ("es", None)),
    ],
)
def test_request_language_in_order_of_precedence(kwargs, expected):
    assert request_language(_request(**kwargs)) == expected


def test_root_domain_without_a_business_falls_back_to_english():
    request = _request(tenant=SimpleNamespace(schema_name="public", locale="de"))

    assert request_language(request) == ("en", None)


def test_staff_pages_follow_the_persons_own_language():
    user = SimpleNamespace(language="es", is_authenticated=True)

    dashboard = _request("/dashboard/?lang=de", user=user, HTTP_ACCEPT_LANGUAGE="de")
    booking_page = _request("/", user=user, HTTP_ACCEPT_LANGUAGE="de")
    no_pick = _request("/dashboard/", user=SimpleNamespace(language=""), HTTP_ACCEPT_LANGUAGE="de")

    assert request_language(dashboard) == ("es", None)
    assert request_language(booking_page) == ("de", None)
    assert request_language(no_pick) == ("de", None)


def test_the_api_ignores_the_pickers_parameter():
    request = _request("/api/v1/services?lang=xx", HTTP_ACCEPT_LANGUAGE="de")

    assert request_language(request) == ("de", None)


def test_the_api_follows_accept_language_not_the_booking_pages_cookie():
    request = _request("/api/v1/services", cookie="es", HTTP_ACCEPT_LANGUAGE="de")

    assert request_language(request) == ("de", None)


def test_api_answers_vary_by_accept_language_alone():
    # a Cookie in Vary would split every shared cache's entries by each client's cookies
    with translation.override("en"):
        response = LanguageMiddleware(lambda request: HttpResponse("{}"))(
            _request("/api/v1/availability", cookie="es", HTTP_ACCEPT_LANGUAGE="de")
        )

    assert [v.strip() for v in response["Vary"].split(",")] == ["Accept-Language"]
    assert response["Content-Language"] == "de"


def test_a_form_sent_with_an_unknown_code_reaches_its_view_refused():
    seen: list[tuple[str, str, str]] = []

    def view(request):
        seen.append((translation.get_language(), request.language_picked, request.language_refused))
        return HttpResponse("form again")

    request = RequestFactory().post(
        "/book/x/y/details/?lang=zz", {"name": "Jana"}, HTTP_ACCEPT_LANGUAGE="de"
    )
    request.tenant = BUSINESS
    request.user = AnonymousUser()
    with translation.override("en"):
        response = LanguageMiddleware(view)(request)

    [(language, picked, refused)] = seen
    assert response.status_code == 200 and language == "de" and picked == ""
    assert refused.startswith("„zz“ ist keine unserer Sprachen")  # in the request's language
    assert "django_language" not in response.cookies


def test_unknown_code_is_refused_naming_the_field_and_our_codes():
    with pytest.raises(ValidationFailed) as raised:
        language_check("klingon", field="language")

    [detail] = raised.value.details
    assert detail.field == "language"
    assert "“klingon”" in detail.message and "en, de, fr, es" in detail.message
    assert language_check("de") == "de"
    assert not is_language("de-DE") and not is_language(None)


def test_choices_name_each_language_in_itself():
    assert language_choices() == [
        ("en", "English"),
        ("de", "Deutsch"),
        ("fr", "Français"),
        ("es", "Español"),
    ]


def test_middleware_activates_remembers_and_varies():
    seen: list[str] = []

    def view(request):
        seen.append(translation.get_language())
        return HttpResponse("ok")

    middleware = LanguageMiddleware(view)
    with translation.override("en"):
        response = middleware(_request("/?lang=es"))

    assert seen == ["es"]
    assert response["Content-Language"] == "es"
    assert response.cookies["django_language"].value == "es"
    assert response.cookies["django_language"]["samesite"] == "Lax"
    assert {"Accept-Language", "Cookie"} <= {v.strip() for v in response["Vary"].split(",")}


def test_middleware_answers_an_unknown_code_with_a_400_and_runs_no_view():
    def view(request):
        raise AssertionError("the view must not run")

    response = LanguageMiddleware(view)(
        _request("/book/s/r/?day=2027-06-01&lang=../../etc", HTTP_ACCEPT_LANGUAGE="en")
    )

    assert response.status_code == 400
    body = response.content.decode()
    assert "Unknown language code." in body and "“../../etc”" in body
    assert "django_language" not in response.cookies
    # each language's link keeps the rest of the address (the customer's day)
    assert '<a href="?day=2027-06-01&amp;lang=de">Deutsch</a>' in body


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "€1,250.50"),
        ("de", "1.250,50\xa0€"),
        ("fr", "1\u202f250,50\xa0€"),
        ("es", "1.250,50\xa0€"),
    ],
)
def test_money_is_written_as_each_language_writes_it(language, expected):
    assert money_format(Decimal("1250.50"), "eur", language=language) == expected


def test_money_follows_the_active_language_and_the_currencys_decimals():
    with translation.override("de"):
        assert money_format(Decimal("5000"), "JPY") == "5.000\xa0¥"
    with translation.override("en"):
        assert money_format("12.5", "GBP") == "£12.50"
