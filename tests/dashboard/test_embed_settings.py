"""The dashboard's "Embed on your website" (admins): the list of websites with field
errors that keep what was typed, and the snippet that follows the pickers."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from apps.accounts.models import Membership, Tenant
from tests.dashboard.factories import ResourceFactory

pytestmark = pytest.mark.django_db

URL = "/dashboard/settings/embed/"
SNIPPET = "/dashboard/settings/embed/snippet/"


def _snippet(body: str) -> str:
    start = body.index('id="snippet-code"')
    return html.unescape(body[body.index(">", start) + 1 : body.index("</textarea>", start)])


def test_the_screen_shows_the_snippet_and_asks_for_a_website_first(admin_client_acme, acme):
    response = admin_client_acme.get(URL)

    body = response.content.decode()
    assert response.status_code == 200
    assert reverse("dashboard:embed") == URL
    assert "No website is listed yet" in body
    snippet = _snippet(body)
    assert (
        '<div data-timenest="http://acme.localhost/" '
        'data-title="Book an appointment with Acme Clinic"></div>'
    ) in snippet
    assert '<script src="http://acme.localhost/static/js/embed.js" defer></script>' in snippet
    # the settings screen leads here
    assert f'href="{URL}"' in admin_client_acme.get(reverse("dashboard:settings")).content.decode()


def test_saving_websites_keeps_them_normalized(admin_client_acme, acme: Tenant):
    response = admin_client_acme.post(
        URL, {"embed_origins": "https://Shop.Example.com/\n\nhttp://localhost:8000\n"}
    )

    assert response.status_code == 302
    acme.refresh_from_db()
    assert acme.embed_origins == ["https://shop.example.com", "http://localhost:8000"]
    body = admin_client_acme.get(URL).content.decode()
    assert "https://shop.example.com\nhttp://localhost:8000" in body
    assert "No website is listed yet" not in body


def test_a_bad_website_is_a_field_error_that_keeps_what_was_typed(admin_client_acme, acme):
    typed = "https://shop.example.com\nhttp://shop.example.com/booking"

    response = admin_client_acme.post(URL, {"embed_origins": typed}, HTTP_HX_REQUEST="true")

    body = html.unescape(response.content.decode())
    assert response.status_code == 400
    assert "<html" not in body  # the screen's partial, for htmx
    assert 'id="id_embed_origins_error"' in body
    assert "http://shop.example.com/booking: " in body
    assert typed in body
    acme.refresh_from_db()
    assert acme.embed_origins == []


def test_a_wildcard_website_is_refused_with_a_field_error(admin_client_acme, acme):
    typed = "https://shop.example.com\nhttps://*.github.io"

    page = admin_client_acme.get(URL).content.decode()
    response = admin_client_acme.post(URL, {"embed_origins": typed}, HTTP_HX_REQUEST="true")

    body = html.unescape(response.content.decode())
    assert "wildcards (*) are not accepted" in html.unescape(page)  # the help says so
    assert response.status_code == 400
    assert "https://*.github.io: Wildcards (*) are not accepted" in body
    assert typed in body
    acme.refresh_from_db()
    assert acme.embed_origins == []


def test_the_pickers_put_the_service_and_person_in_the_snippet(admin_client_acme, clinic):
    service, smith = clinic.service, clinic.smith

    both = admin_client_acme.get(
        SNIPPET, {"service": service.pk, "resource": smith.pk}, HTTP_HX_REQUEST="true"
    )
    plain = admin_client_acme.get(URL, {"service": service.pk})

    assert both.status_code == 200 and "<html" not in both.content.decode()
    assert f'data-service="{service.pk}" data-resource="{smith.pk}"' in html.unescape(
        both.content.decode()
    )
    assert f'data-service="{service.pk}"></div>' in _snippet(plain.content.decode())


def test_a_person_who_does_not_offer_the_service_is_a_field_error(admin_client_acme, clinic):
    other = ResourceFactory.create(name="Dr Other", location=clinic.location)

    response = admin_client_acme.get(
        SNIPPET, {"service": clinic.service.pk, "resource": other.pk}, HTTP_HX_REQUEST="true"
    )
    unknown = admin_client_acme.get(SNIPPET, {"service": "not-an-id"}, HTTP_HX_REQUEST="true")

    body = html.unescape(response.content.decode())
    assert response.status_code == 400
    assert "Dr Other does not offer Check-up." in body
    assert "data-resource" not in body and "data-service" not in body
    assert unknown.status_code == 400


@pytest.mark.parametrize("role", [Membership.Role.MANAGER, Membership.Role.FRONTDESK])
def test_only_admins_may_change_the_websites(client_as, acme, role):
    client = client_as(role)

    assert client.get(URL).status_code == 403
    assert client.post(URL, {"embed_origins": "https://evil.example"}).status_code == 403
    acme.refresh_from_db()
    assert acme.embed_origins == []
