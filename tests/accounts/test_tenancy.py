from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from apps.accounts.branding import PAGE_BACKGROUND, contrast_ratio
from apps.accounts.context_processors import tenancy
from apps.accounts.models import Membership
from apps.resources.models import Location
from tests.plugins.factories import MembershipFactory, UserFactory, member_client

pytestmark = pytest.mark.django_db


def test_tenant_rows_are_invisible_from_another_tenant(acme, globex):
    # given a row in acme's schema
    Location.objects.create(name="Acme Main", timezone="Europe/London")
    assert Location.objects.filter(name="Acme Main").count() == 1

    # then globex's schema does not see it
    with schema_context(globex.schema_name):
        assert not Location.objects.filter(name="Acme Main").exists()
        assert Location.objects.count() == 0


def test_member_of_acme_gets_404_on_globex_dashboard(acme, globex_host, acme_host):
    client = member_client(MembershipFactory(tenant=acme), acme_host)

    assert client.get("/dashboard/", HTTP_HOST=acme_host).status_code == 200
    # The session cookie is host-only in a browser; even if it reached globex, the
    # answer is 404, never globex's data.
    response = client.get("/dashboard/", HTTP_HOST=globex_host)
    assert response.status_code == 404
    assert b"Acme" not in response.content


def test_anonymous_dashboard_redirects_to_the_tenant_login(acme_host, db):
    response = Client().get("/dashboard/", HTTP_HOST=acme_host)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/dashboard/")


def test_user_without_membership_gets_404_on_dashboard(acme_host, db):
    user = UserFactory()
    client = Client()
    client.force_login(user)

    assert client.get("/dashboard/", HTTP_HOST=acme_host).status_code == 404


def test_tenant_home_shows_the_business_name(acme_host, globex_host, db):
    assert "Acme Clinic" in Client().get("/", HTTP_HOST=acme_host).content.decode()
    body = Client().get("/", HTTP_HOST=globex_host).content.decode()
    assert "Globex Consulting" in body
    assert "Acme Clinic" not in body


def test_unknown_subdomain_gets_a_friendly_404(db):
    response = Client().get("/", HTTP_HOST="nobody-here.localhost")

    assert response.status_code == 404
    assert "find that booking page" in response.content.decode()


@pytest.mark.parametrize("path", ["/dashboard/", "/admin/", "/anything/else"])
def test_unknown_subdomain_is_404_on_every_path(db, path):
    assert Client().get(path, HTTP_HOST="ghost.localhost").status_code == 404


def test_staff_login_with_email_reaches_the_dashboard(acme, acme_host):
    membership = MembershipFactory(
        tenant=acme, role=Membership.Role.FRONTDESK, user=UserFactory(email="frontdesk@acme.test")
    )
    client = Client()

    response = client.post(
        "/accounts/login/",
        {"username": "frontdesk@acme.test", "password": "correct-horse-battery"},
        HTTP_HOST=acme_host,
    )

    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    page = client.get("/dashboard/", HTTP_HOST=acme_host)
    assert membership.user.email in page.content.decode()


def test_password_reset_sends_a_link_for_the_tenant_host(acme_host, mailoutbox, db):
    UserFactory(email="forgetful@acme.test")

    response = Client().post(
        "/accounts/password-reset/", {"email": "forgetful@acme.test"}, HTTP_HOST=acme_host
    )

    assert response.status_code == 302
    assert len(mailoutbox) == 1
    assert f"http://{acme_host}/accounts/reset/" in mailoutbox[0].body
    assert "Acme Clinic" in mailoutbox[0].body


def test_tenant_pages_use_the_aa_safe_accent_not_the_raw_colour(acme, rf):
    # given a business that picked a pale yellow
    acme.accent_color = "#fbbf24"
    request = rf.get("/")
    request.tenant = acme

    # when a page of its domain renders
    accent = tenancy(request)["accent"]

    # then text in that colour still reaches AA on the page background
    assert accent.brand == "#fbbf24"
    assert accent.text_safe != "#fbbf24"
    assert contrast_ratio(accent.text_safe, PAGE_BACKGROUND) >= 4.5
