"""The websites a business lets show its booking pages (apps/accounts/embed_origins.py)."""

from __future__ import annotations

import re

import pytest
from django.http import HttpRequest
from django.test import RequestFactory, override_settings

from apps.accounts.embed_origins import (
    EMBED_ORIGINS_MAX,
    EmbedOriginInvalid,
    embed_origin_allowed,
    embed_origin_normalize,
    embed_origins_clean,
    tenant_embed_origins_update,
)
from apps.accounts.models import Tenant
from apps.core.errors import ValidationFailed
from apps.core.frame_ancestors import frame_ancestor_valid
from config.content_security import frame_ancestors


@pytest.mark.parametrize(
    ("typed", "origin"),
    [
        ("https://Shop.Example.com/", "https://shop.example.com"),
        ("shop.example.com", "https://shop.example.com"),
        ("https://shop.example.com:443", "https://shop.example.com"),
        ("https://shop.example.com:8443", "https://shop.example.com:8443"),
        ("https://bücher.de", "https://xn--bcher-kva.de"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("http://shop.localhost:3000/", "http://shop.localhost:3000"),
        ("http://app.shop.localhost:3000", "http://app.shop.localhost:3000"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("https://10.0.0.7:8443", "https://10.0.0.7:8443"),
    ],
)
def test_an_origin_is_kept_normalized(typed, origin):
    assert embed_origin_normalize(typed) == origin


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "Enter an address"),
        ("http://shop.example.com", "must start with https://"),
        ("ftp://shop.example.com", "must start with https://"),
        ("https://shop.example.com/booking", "without a page's path"),
        ("https://shop.example.com?x=1", "without a page's path"),
        ("https://shop.example.com#top", "without a page's path"),
        ("https://user:secret@shop.example.com", "user name or password"),
        ("https://*.example.com", "Wildcards (*) are not accepted"),
        ("https://*.co.uk", "Wildcards (*) are not accepted"),
        ("https://*.github.io", "Wildcards (*) are not accepted"),
        ("*.example.com", "Wildcards (*) are not accepted"),
        ("https://shop.*.example.com", "Wildcards (*) are not accepted"),
        ("https://*", "Wildcards (*) are not accepted"),
        ("https://[::1]", "An IPv6 address cannot be listed"),
        ("http://[::1]:3000", "An IPv6 address cannot be listed"),
        ("https://[::1", "not a valid host name"),
        ("https://shop.example.com.", "not a valid host name"),
        ("https://shop_example.com", "not a valid host name"),
        ("https://shop.example.com:0", "port must be a number"),
        ("https://shop.example.com:99999", "port must be a number"),
        ("https://a.example https://b.example", "without spaces"),
        ("https://a.example; script-src *", "without spaces"),
        ("https://a.example,https://b.example", "without spaces or commas"),
    ],
)
def test_what_is_not_an_origin_is_refused_with_the_reason(typed, says):
    with pytest.raises(EmbedOriginInvalid, match=re.escape(says)):
        embed_origin_normalize(typed)


def test_a_list_drops_blank_lines_and_duplicates_and_names_each_bad_line():
    assert embed_origins_clean(["https://a.example", "", "A.EXAMPLE", " https://b.example/ "]) == [
        "https://a.example",
        "https://b.example",
    ]

    with pytest.raises(ValidationFailed) as caught:
        embed_origins_clean(["https://a.example", "http://b.example", "https://c.example/x"])

    messages = [(d.field, d.message) for d in caught.value.details]
    assert [field for field, _ in messages] == ["embed_origins", "embed_origins"]
    assert messages[0][1].startswith("http://b.example: ")
    assert messages[1][1].startswith("https://c.example/x: ")


def test_a_wildcard_in_a_list_is_an_error_naming_it():
    with pytest.raises(ValidationFailed) as caught:
        embed_origins_clean(["https://shop.example.com", "https://*.github.io"])

    [detail] = caught.value.details
    assert detail.field == "embed_origins"
    assert detail.message.startswith("https://*.github.io: Wildcards (*) are not accepted")


# --- One rule for the list and for the header -----------------------------------------


def _named(request: HttpRequest) -> list[str]:
    """FRAME_ANCESTORS_FUNCTION for the table below: the origin the request carries."""
    return [request.named]  # type: ignore[attr-defined]


def _header_keeps(origin: str) -> bool:
    request = RequestFactory().get("/embed/")
    request.named = origin  # type: ignore[attr-defined]
    with override_settings(FRAME_ANCESTORS_FUNCTION=f"{__name__}._named"):
        return frame_ancestors(request) == [origin]


@pytest.mark.parametrize(
    "typed",
    [
        "https://shop.example.com",
        "https://shop.example.com:8443",
        "https://xn--bcher-kva.de",
        "https://10.0.0.7",
        "http://localhost",
        "http://localhost:8000",
        "http://shop.localhost:3000",
        "http://app.shop.localhost:3000",
        "http://127.0.0.1:5000",
        "https://*.example.com",
        "https://*.co.uk",
        "https://*.github.io",
        "http://*.localhost",
        "https://[::1]",
        "http://[::1]:3000",
        "http://shop.example.com",
        "http://127.0.0.2",
        "https://shop.example.com/booking",
        "https://a.example; script-src *",
        "https://a.example https://b.example",
        "https://user@shop.example.com",
        "https://shop_example.com",
        "https://shop.example.com:0",
        "https://shop.example.com:99999",
        "https://-shop.example.com",
        "'self'",
        "*",
    ],
)
def test_a_site_the_list_accepts_is_one_the_header_keeps_and_no_other(typed):
    try:
        saved: str | None = embed_origin_normalize(typed)
    except EmbedOriginInvalid:
        saved = None

    if saved is not None:
        assert saved == typed  # the table's accepted values are already normalized
        assert frame_ancestor_valid(saved)
        assert _header_keeps(saved)
    else:
        assert not frame_ancestor_valid(typed)
        assert not _header_keeps(typed)


def test_a_list_holds_at_most_the_maximum():
    sites = [f"https://site{n}.example" for n in range(EMBED_ORIGINS_MAX + 1)]

    assert len(embed_origins_clean(sites[:-1])) == EMBED_ORIGINS_MAX
    with pytest.raises(ValidationFailed, match="Please correct"):
        embed_origins_clean(sites)


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://shop.example.com", True),
        ("https://SHOP.example.com/", True),
        ("http://shop.example.com", False),
        ("https://shop.example.com:8443", False),
        ("https://www.partner.example", True),
        ("https://a.b.partner.example", False),
        ("https://partner.example", False),
        ("https://evilpartner.example", False),
        ("https://www.partner.example:444", False),
        ("https://*.partner.example", False),
        ("null", False),
        ("", False),
    ],
)
def test_a_browser_origin_is_matched_as_csp_matches_it(origin, allowed):
    listed = ["https://shop.example.com", "https://www.partner.example"]

    assert embed_origin_allowed(origins=listed, origin=origin) is allowed


@pytest.mark.django_db
def test_the_business_list_is_replaced_whole_or_not_at_all(acme: Tenant):
    saved = tenant_embed_origins_update(tenant=acme, values=["shop.example.com", ""])

    assert saved == ["https://shop.example.com"]
    acme.refresh_from_db()
    assert acme.embed_origins == ["https://shop.example.com"]

    with pytest.raises(ValidationFailed):
        tenant_embed_origins_update(tenant=acme, values=["https://b.example", "http://c.example"])

    acme.refresh_from_db()
    assert acme.embed_origins == ["https://shop.example.com"]
