"""The first day of a business over HTTP (PRODUCT.md §4.8): the signup link lands signed
in on the business's own Today; before going live its admins work without the two-step
wall, except on screens whose access outlives the set-up, and may not invite another
admin; once live the wall is back."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client

from apps.accounts.models import AuthenticatorDevice, Membership, Tenant
from apps.accounts.services import signup_welcome_token
from apps.accounts.team import membership_invite
from apps.core.errors import ValidationFailed
from config.log_redaction import secrets_redact
from tests.plugins.factories import MembershipFactory, member_client

pytestmark = pytest.mark.django_db

ROOT = "localhost"
HOST = "acme.localhost"


@pytest.fixture(autouse=True)
def _mail_sent_on_commit(monkeypatch):
    cache.clear()
    monkeypatch.setattr(
        "apps.accounts.services.transaction.on_commit", lambda callback, **kwargs: callback()
    )


@pytest.fixture
def not_live(acme: Tenant) -> Tenant:
    acme.live_at = None
    acme.holidays_decided_at = None
    acme.save(update_fields=["live_at", "holidays_decided_at"])
    return acme


def _admin_without_factor(tenant: Tenant) -> tuple[Client, Membership]:
    membership = MembershipFactory.create(tenant=tenant, role=Membership.Role.ADMIN)
    client = Client(HTTP_HOST=HOST)
    client.force_login(membership.user)
    return client, membership


def test_the_signup_link_lands_signed_in_on_the_new_businesss_today(mailoutbox):
    # given a signup whose emailed link is opened and confirmed on the root domain
    root = Client(HTTP_HOST=ROOT)
    root.post(
        "/signup/",
        {
            "business_name": "Haarwerk",
            "slug": "haarwerk",
            "email": "owner@haarwerk.test",
            "password": "a-long-enough-password",
            "timezone": "Europe/Berlin",
        },
    )
    token = re.search(r"/signup/confirm/([^/\s]+)/", mailoutbox[0].body).group(1)
    confirmed = root.post(f"/signup/confirm/{token}/")
    assert confirmed.status_code == 303
    welcome = confirmed["Location"].removeprefix("http://haarwerk.localhost")

    # when the browser follows it to the business's own host
    business = Client(HTTP_HOST="haarwerk.localhost")
    landed = business.get(welcome)

    # then it is signed in there and Today opens on the checklist, no second login and
    # no two-step wall first
    assert landed.status_code == 303
    assert landed["Location"] == "/dashboard/"
    today = business.get("/dashboard/")
    body = today.content.decode()
    assert today.status_code == 200
    assert "Set up your booking page" in body
    assert "Add your location and its time zone" in body
    assert "Set up two-step sign-in" in body
    # and the crossing works once
    again = Client(HTTP_HOST="haarwerk.localhost").get(welcome)
    assert again.status_code == 400
    assert "expired or was already used" in again.content.decode()


def test_a_welcome_token_opens_nothing_on_another_business(not_live, globex):
    _client, membership = _admin_without_factor(not_live)
    token = signup_welcome_token(user=membership.user, tenant=not_live)
    MembershipFactory.create(tenant=globex, user=membership.user, role=Membership.Role.ADMIN)

    other = Client(HTTP_HOST="globex.localhost")
    response = other.get(f"/accounts/signup/confirm/{token}/")
    tampered = Client(HTTP_HOST=HOST).get(f"/accounts/signup/confirm/{token}x/")

    assert response.status_code == 400
    assert tampered.status_code == 400
    assert other.get("/dashboard/").status_code == 302  # still signed out
    # the token never reaches the logs: its path is one the log redaction hides
    assert token not in secrets_redact(f"GET /accounts/signup/confirm/{token}/ HTTP/1.1")


def test_before_going_live_an_admin_without_a_factor_uses_the_set_up_screens(not_live):
    client, _membership = _admin_without_factor(not_live)

    assert client.get("/dashboard/").status_code == 200
    assert client.get("/dashboard/catalogue/locations/new/").status_code == 200
    assert client.get("/dashboard/availability/").status_code == 200
    # screens whose access or money outlives the set-up ask for the factor first
    for path in ("/dashboard/integrations/", "/dashboard/billing/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/mfa/?next="), path


def test_a_factor_already_set_up_is_asked_for_even_before_going_live(not_live):
    client, membership = _admin_without_factor(not_live)
    AuthenticatorDevice.objects.create(user=membership.user, name="phone", confirmed=True)

    response = client.get("/dashboard/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/mfa/verify/")


def test_once_live_the_two_step_wall_is_back_for_an_admin_without_a_factor(not_live):
    client, _membership = _admin_without_factor(not_live)
    assert client.get("/dashboard/").status_code == 200

    not_live.live_at = not_live.created_at
    not_live.save(update_fields=["live_at"])

    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/mfa/?next=%2Fdashboard%2F"


def test_inviting_another_admin_needs_the_inviters_two_step_sign_in(not_live, mailoutbox):
    client, _membership = _admin_without_factor(not_live)

    refused = client.post("/dashboard/team/", {"email": "second@acme.test", "role": "admin"})

    body = refused.content.decode()
    assert refused.status_code == 400
    assert "Set up two-step sign-in for your own account first" in body
    assert 'value="second@acme.test"' in body
    assert not Membership.objects.filter(user__email="second@acme.test").exists()
    # other roles may be invited while setting up
    allowed = client.post("/dashboard/team/", {"email": "desk@acme.test", "role": "frontdesk"})
    assert allowed.status_code == 302
    assert Membership.objects.filter(user__email="desk@acme.test").exists()


def test_an_admin_with_a_factor_invites_another_admin(not_live, mailoutbox):
    membership = MembershipFactory.create(tenant=not_live, role=Membership.Role.ADMIN)
    member_client(membership, HOST)  # sets up and passes the authenticator

    invited = membership_invite(
        tenant=not_live,
        email="second@acme.test",
        role=Membership.Role.ADMIN,
        invited_by=membership.user,
        base_url="http://acme.localhost",
    )

    assert invited.role == Membership.Role.ADMIN


def test_the_invite_service_refuses_an_admin_invitation_without_a_factor(not_live):
    membership = MembershipFactory.create(tenant=not_live, role=Membership.Role.ADMIN)

    with pytest.raises(ValidationFailed) as refused:
        membership_invite(
            tenant=not_live,
            email="second@acme.test",
            role=Membership.Role.ADMIN,
            invited_by=membership.user,
            base_url="http://acme.localhost",
        )

    assert refused.value.details[0].field == "role"


def test_a_business_not_live_yet_says_so_on_its_booking_pages(not_live):
    response = Client(HTTP_HOST=HOST).get("/")

    body = response.content.decode()
    assert response.status_code == 503
    assert "Opening soon" in body
    assert "Acme Clinic is getting ready to take bookings online" in body
    assert "Nothing can be booked online" not in body


def test_promoting_someone_to_admin_needs_the_promoters_two_step_sign_in(not_live):
    client, _membership = _admin_without_factor(not_live)
    desk = MembershipFactory.create(tenant=not_live, role=Membership.Role.FRONTDESK)

    refused = client.post(f"/dashboard/team/{desk.pk}/role/", {"role": "admin"}, follow=True)

    assert "Set up two-step sign-in for your own account first" in refused.content.decode()
    desk.refresh_from_db()
    assert desk.role == Membership.Role.FRONTDESK
    # other role changes are not held back
    client.post(f"/dashboard/team/{desk.pk}/role/", {"role": "manager"})
    desk.refresh_from_db()
    assert desk.role == Membership.Role.MANAGER
