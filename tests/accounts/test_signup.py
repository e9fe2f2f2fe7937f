from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_exists

from apps.accounts.models import Domain, Membership, SignupRequest, Tenant, User
from apps.accounts.services import signup_confirm, signup_request
from apps.core.errors import ValidationFailed

pytestmark = pytest.mark.django_db

ROOT = "localhost"


def _form(**overrides: str) -> dict[str, str]:
    data = {
        "business_name": "Bright Smiles Dental",
        "slug": "bright-smiles",
        "email": "owner@brightsmiles.test",
        "password": "a-long-enough-password",
        "timezone": "Europe/Paris",
    }
    data.update(overrides)
    return data


@pytest.fixture(autouse=True)
def _mail_sent_on_commit(monkeypatch):
    """Signup emails leave after commit; each test runs in one transaction, so they are
    sent when the service asks. (And each test starts with fresh rate-limit counters.)"""
    cache.clear()
    monkeypatch.setattr(
        "apps.accounts.services.transaction.on_commit", lambda callback, **kwargs: callback()
    )


def _request(**fields: str) -> str | None:
    return signup_request(
        **fields, confirm_url=lambda token: f"/signup/confirm/{token}/", login_url="/"
    )


def _link_token(message) -> str:
    match = re.search(r"/signup/confirm/([^/\s]+)/", message.body)
    assert match, message.body
    return match.group(1)


def test_signup_sends_a_link_and_the_link_creates_schema_domain_and_owner(mailoutbox):
    client = Client(HTTP_HOST=ROOT)
    response = client.post("/signup/", _form())

    # nothing exists until the address is confirmed
    assert response.status_code == 200
    assert "We sent a link to owner@brightsmiles.test" in response.content.decode()
    assert not Tenant.objects.filter(slug="bright-smiles").exists()
    assert not User.objects.filter(email="owner@brightsmiles.test").exists()
    [message] = mailoutbox
    assert message.to == ["owner@brightsmiles.test"]
    token = _link_token(message)
    stored = SignupRequest.objects.get(email="owner@brightsmiles.test")
    assert token not in stored.token_hash and "a-long-enough-password" not in stored.password_hash

    # opening the link only shows a button (a mail scanner's GET uses nothing up)
    assert client.get(f"/signup/confirm/{token}/").status_code == 200
    assert not Tenant.objects.filter(slug="bright-smiles").exists()

    done = client.post(f"/signup/confirm/{token}/")

    # it goes on to the business's own host (its sessions are its own), signed in there
    assert done.status_code == 303
    assert done["Location"].startswith("http://bright-smiles.localhost/accounts/signup/confirm/")
    tenant = Tenant.objects.get(slug="bright-smiles")
    assert tenant.is_ready
    assert tenant.timezone == "Europe/Paris"
    assert schema_exists(tenant.schema_name)
    assert Domain.objects.get(tenant=tenant).domain == "bright-smiles.localhost"
    membership = Membership.objects.get(tenant=tenant)
    assert membership.user.email == "owner@brightsmiles.test"
    assert membership.user.check_password("a-long-enough-password")
    assert membership.role == Membership.Role.ADMIN
    assert membership.user.email_confirmed_at is not None
    assert tenant.live_at is None  # opened by signup: live once its checklist is done
    # the owner is signed in, and the link works once
    assert client.get("/accounts/workspaces/").status_code == 200
    again = Client(HTTP_HOST=ROOT).post(f"/signup/confirm/{token}/")
    assert again.status_code == 400
    assert "expired or was already used" in again.content.decode()


def test_a_signup_link_expires(mailoutbox, settings):
    Client(HTTP_HOST=ROOT).post("/signup/", _form())
    token = _link_token(mailoutbox[0])
    SignupRequest.objects.filter(email="owner@brightsmiles.test").update(
        created_at=timezone.now() - timedelta(hours=settings.SIGNUP_LINK_HOURS, minutes=1)
    )

    response = Client(HTTP_HOST=ROOT).post(f"/signup/confirm/{token}/")

    assert response.status_code == 400
    assert not Tenant.objects.filter(slug="bright-smiles").exists()


def test_signup_never_tells_whether_an_account_or_its_password_exists(mailoutbox):
    User.objects.create_user(email="taken@example.test", password="the-real-password-1")
    answers = {}
    for label, data in {
        "unknown email": _form(email="new@example.test", slug="new-one"),
        "known email, wrong password": _form(
            email="taken@example.test", password="wrong-password-xx", slug="known-one"
        ),
        "known email, right password": _form(
            email="taken@example.test", password="the-real-password-1", slug="known-two"
        ),
    }.items():
        response = Client(HTTP_HOST=ROOT).post("/signup/", data)
        body = response.content.decode().replace(data["email"], "EMAIL")
        body = re.sub(r'"X-CSRFToken": "[^"]+"', "", body)  # differs on every page
        answers[label] = (response.status_code, body.replace(data["slug"], "SLUG"))

    # the same page whichever part was wrong
    assert len(set(answers.values())) == 1, answers.keys()
    # the known address gets a note, not a link and not a second account
    notes = [m for m in mailoutbox if m.to == ["taken@example.test"]]
    assert len(notes) == 2
    assert all("/signup/confirm/" not in m.body and "Add a business" in m.body for m in notes)
    assert User.objects.filter(email="taken@example.test").count() == 1
    assert not Tenant.objects.filter(slug__in=["known-one", "known-two"]).exists()


def test_a_weak_password_is_refused_whether_or_not_the_email_is_known():
    User.objects.create_user(email="taken@example.test", password="the-real-password-1")
    for email in ("taken@example.test", "new@example.test"):
        response = Client(HTTP_HOST=ROOT).post("/signup/", _form(email=email, password="short"))
        assert response.status_code == 400
        assert "too short" in response.content.decode()


def test_a_signed_in_person_adds_a_business_to_their_account():
    owner = User.objects.create_user(email="multi@example.test", password="the-real-password-1")
    client = Client(HTTP_HOST=ROOT)
    client.force_login(owner)

    page = client.get("/signup/").content.decode()
    assert "Add a business" in page and 'name="password"' not in page
    response = client.post(
        "/signup/",
        {"business_name": "Second Shop", "slug": "second-shop", "timezone": "UTC"},
    )

    assert response.status_code == 303
    assert response["Location"].startswith("http://second-shop.localhost/accounts/signup/confirm/")
    tenant = Tenant.objects.get(slug="second-shop")
    assert Membership.objects.get(tenant=tenant).user == owner
    assert tenant.live_at is None


def test_signup_is_limited_per_address(settings, mailoutbox):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "signup": "2/hour",
        },
    }
    statuses = [
        Client(HTTP_HOST=ROOT, REMOTE_ADDR=f"10.0.0.{n}")
        .post("/signup/", _form(slug=f"shop-{n}"))
        .status_code
        for n in range(3)
    ]

    assert statuses == [200, 200, 429]
    assert len(mailoutbox) == 2


@pytest.mark.parametrize(
    ("overrides", "field_error"),
    [
        ({"slug": "Bad_Slug!"}, "Use only lowercase letters, digits and hyphens"),
        ({"slug": "ab"}, "Use between 3 and 40 characters"),
        ({"slug": "x" * 45}, "Use between 3 and 40 characters"),
        ({"slug": "-edge-"}, "Use only lowercase letters"),
        ({"slug": "www"}, "is reserved"),
        ({"slug": "admin"}, "is reserved"),
        ({"slug": "acme"}, "is already taken"),
        ({"password": "short"}, "too short"),
        ({"business_name": ""}, "This field is required"),
        ({"email": "not-an-email"}, "Enter a valid email address"),
    ],
)
def test_signup_errors_rerender_with_the_typed_values(overrides, field_error):
    data = _form(**overrides)

    response = Client().post("/signup/", data, HTTP_HOST=ROOT)

    body = response.content.decode()
    assert response.status_code == 400
    assert field_error in body
    # what was typed is kept
    for field in ("business_name", "email"):
        if data[field]:
            assert f'value="{data[field]}"' in body
    assert f'value="{data["slug"]}"' in body
    assert not Tenant.objects.filter(name="Bright Smiles Dental").exists()


def test_signup_failure_mid_creation_leaves_nothing_behind(monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    token = _request(
        business_name="Half Made",
        slug="half-made",
        email="half@made.test",
        password="a-long-enough-password",
        timezone="UTC",
    )
    assert token is not None
    monkeypatch.setattr(Membership.objects, "create", explode)

    with pytest.raises(RuntimeError):
        signup_confirm(token=token)

    assert not schema_exists("t_half_made")
    assert not Tenant.objects.filter(slug="half-made").exists()
    assert not Domain.objects.filter(domain="half-made.localhost").exists()
    assert not User.objects.filter(email="half@made.test").exists()
    assert (
        SignupRequest.objects.get(email="half@made.test").confirmed_at is None
    )  # the link still works


def test_signup_service_reports_every_field_problem_at_once():
    with pytest.raises(ValidationFailed) as caught:
        _request(
            business_name=" ",
            slug="www",
            email="x@y.test",
            password="1",
            timezone="Mars/Olympus",
        )

    fields = {detail.field for detail in caught.value.details}
    assert fields == {"slug", "name", "timezone", "password"}
