"""Staff pick their own dashboard language (their account's language page), and an admin
sets the business's default language on the settings screen."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.models import Membership, Tenant, User
from apps.accounts.services import user_language_set
from apps.core.errors import ValidationFailed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("compiled_catalogues")]


def _user_of(client) -> User:
    return User.objects.get(pk=client.session["_auth_user_id"])


def test_user_language_set_keeps_a_known_code_and_refuses_others(acme):
    user = User.objects.create_user("staff-language@example.test", "a-long-password-1")

    user_language_set(user=user, language="fr")
    with pytest.raises(ValidationFailed) as raised:
        user_language_set(user=user, language="tlh")

    user.refresh_from_db()
    assert user.language == "fr"
    assert raised.value.details[0].field == "language"
    user_language_set(user=user, language="")
    user.refresh_from_db()
    assert user.language == ""


def test_staff_member_picks_german_and_the_dashboard_follows(client_as):
    # given a front-desk member whose browser asks for English
    client = client_as(Membership.Role.FRONTDESK)
    assert "Log out" in client.get("/dashboard/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    # when they pick German on their language page
    page = client.get(reverse("accounts:language"), HTTP_ACCEPT_LANGUAGE="en")
    assert 'name="language"' in page.content.decode()
    saved = client.post(reverse("accounts:language"), {"language": "de"}, HTTP_ACCEPT_LANGUAGE="en")

    # then it is kept, and the dashboard speaks German whatever the browser asks
    assert saved.status_code == 302
    assert _user_of(client).language == "de"
    dashboard = client.get("/dashboard/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Abmelden" in dashboard.content.decode()
    assert dashboard["Content-Language"] == "de"
    # while the customer pages keep following the customer's browser
    assert "Choose a service" in client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_an_unknown_language_on_the_language_page_is_a_field_error(client_as):
    client = client_as(Membership.Role.SCHEDULER)

    response = client.post(reverse("accounts:language"), {"language": "xx"})

    assert response.status_code == 400
    assert "“xx” is not a language we speak" in response.content.decode()
    assert _user_of(client).language == ""


def test_the_language_page_needs_a_signed_in_person(acme):
    from django.test import Client

    from tests.dashboard.screens import HOST

    response = Client(HTTP_HOST=HOST).get(reverse("accounts:language"))

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_admin_sets_the_businesss_default_language(admin_client_acme, acme):
    page = admin_client_acme.get(reverse("dashboard:settings")).content.decode()
    assert 'name="locale"' in page and '<option value="de">Deutsch</option>' in page

    form = {
        "name": acme.name,
        "timezone": acme.timezone,
        "locale": "de",
        "exposure_mode": "all",
        "hold_ttl_minutes": "10",
        "cancellation_window_minutes": "120",
        "min_notice_minutes": "30",
        "horizon_days": "60",
        "reminder_offsets": "24h",
        "accent_color": "#0f766e",
        "logo_url": "",
    }
    admin_client_acme.post(reverse("dashboard:settings"), form)

    assert Tenant.objects.get(pk=acme.pk).locale == "de"
    # an unknown code is a field error that keeps what was typed, and changes nothing
    refused = admin_client_acme.post(
        reverse("dashboard:settings"), {**form, "locale": "xx"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert refused.status_code == 400
    body = refused.content.decode()
    assert "Select a valid choice" in body and 'value="30"' in body
    assert Tenant.objects.get(pk=acme.pk).locale == "de"
