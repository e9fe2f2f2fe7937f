from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import schema_exists

from apps.accounts.models import Domain, Membership, Tenant, User
from apps.accounts.services import tenant_signup
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


def test_signup_creates_schema_domain_and_owner_membership():
    response = Client().post("/signup/", _form(), HTTP_HOST=ROOT)

    assert response.status_code == 201
    tenant = Tenant.objects.get(slug="bright-smiles")
    assert tenant.is_ready
    assert tenant.timezone == "Europe/Paris"
    assert schema_exists(tenant.schema_name)
    assert Domain.objects.get(tenant=tenant).domain == "bright-smiles.localhost"
    membership = Membership.objects.get(tenant=tenant)
    assert membership.user.email == "owner@brightsmiles.test"
    assert membership.role == Membership.Role.ADMIN
    assert "bright-smiles.localhost" in response.content.decode()


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


def test_signup_existing_user_must_give_their_password(db):
    User.objects.create_user(email="taken@example.test", password="the-real-password-1")

    response = Client().post(
        "/signup/", _form(email="taken@example.test", password="wrong-password-xx"), HTTP_HOST=ROOT
    )

    assert response.status_code == 400
    assert "An account with this email exists" in response.content.decode()


def test_signup_failure_mid_creation_leaves_nothing_behind(monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Membership.objects, "create", explode)

    with pytest.raises(RuntimeError):
        tenant_signup(
            business_name="Half Made",
            slug="half-made",
            email="half@made.test",
            password="a-long-enough-password",
            timezone="UTC",
        )

    assert not schema_exists("t_half_made")
    assert not Tenant.objects.filter(slug="half-made").exists()
    assert not Domain.objects.filter(domain="half-made.localhost").exists()
    assert not User.objects.filter(email="half@made.test").exists()


def test_signup_service_reports_every_field_problem_at_once():
    with pytest.raises(ValidationFailed) as caught:
        tenant_signup(
            business_name=" ",
            slug="www",
            email="x@y.test",
            password="1",
            timezone="Mars/Olympus",
        )

    fields = {detail.field for detail in caught.value.details}
    assert fields == {"slug", "name", "timezone", "password"}
