"""API keys, staff JWTs and the dashboard session."""

from __future__ import annotations

import datetime as dt
import hashlib

import jwt
import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import tenant_context
from rest_framework_simplejwt.tokens import AccessToken

from apps.accounts.models import Membership
from apps.api.models import ApiKey
from apps.api.services import api_key_authenticate, api_key_create, api_key_revoke
from tests.api.calls import error_of, send_json
from tests.plugins.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


# --- API keys ----------------------------------------------------------------------


def test_api_key_is_stored_hashed_with_a_visible_prefix(acme):
    key, secret = api_key_create(role="frontdesk", name="Till")

    stored = ApiKey.objects.get(pk=key.pk)
    assert secret.startswith(stored.prefix + "_")
    rest = secret.removeprefix(stored.prefix + "_")
    assert stored.secret_hash == hashlib.sha256(rest.encode()).hexdigest()
    assert secret not in {stored.secret_hash, stored.prefix, stored.name}
    assert stored.last_used_at is None


def test_api_key_authenticate_records_last_use_and_refuses_revoked_or_wrong(acme):
    key, secret = api_key_create(role="admin")

    assert api_key_authenticate(presented=secret) == key
    assert ApiKey.objects.get(pk=key.pk).last_used_at is not None
    assert api_key_authenticate(presented=secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    assert api_key_authenticate(presented="tn_nothing_here") is None
    api_key_revoke(api_key=key)
    assert api_key_authenticate(presented=secret) is None


def test_api_key_with_an_unknown_role_is_refused(acme):
    from apps.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as error:
        api_key_create(role="owner")

    assert error.value.details[0].field == "role"


def test_create_api_key_command_prints_the_key_once(acme, capsys, acme_host):
    call_command("create_api_key", "--tenant=acme", "--role=readonly", "--name=reports")

    out, err = capsys.readouterr()
    secret = out.strip()
    assert secret.startswith("tn_")
    assert "shown once" in err
    with tenant_context(acme):
        stored = ApiKey.objects.get(name="reports")
    assert stored.role == "readonly"
    assert secret not in stored.secret_hash
    client = Client(HTTP_HOST=acme_host, HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/admin/bookings").status_code == 200


def test_create_api_key_command_refuses_unknown_tenant_and_role(db):
    with pytest.raises(CommandError, match="No ready tenant"):
        call_command("create_api_key", "--tenant=nobody", "--role=admin")
    with pytest.raises(CommandError):
        call_command("create_api_key", "--tenant=acme", "--role=owner")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer tn_abcdefabcdef_wrongsecret",
        "Bearer tn_",
        "Bearer not.a.jwt",
        "Bearer",
        "Bearer a b",
    ],
)
def test_bad_bearer_credentials_are_401_in_the_envelope(acme, acme_host, header):
    response = Client(HTTP_HOST=acme_host).get("/api/v1/admin/bookings", HTTP_AUTHORIZATION=header)

    assert response.status_code == 401
    assert error_of(response)["code"] == "UNAUTHENTICATED"


def test_a_bad_key_is_refused_even_on_public_endpoints(acme, acme_host):
    client = Client(HTTP_HOST=acme_host, HTTP_AUTHORIZATION="Bearer tn_abcdefabcdef_wrong")

    assert client.get("/api/v1/services").status_code == 401


# --- Staff JWTs --------------------------------------------------------------------


def _member(acme, role=Membership.Role.FRONTDESK, email="desk@acme.test"):
    return MembershipFactory(tenant=acme, role=role, user=UserFactory(email=email))


def _token(client, email="desk@acme.test", **extra):
    return send_json(
        client, "post", "/api/v1/auth/token", {"email": email, "password": PASSWORD, **extra}
    )


def test_jwt_token_refresh_and_logout(acme, anon_client):
    _member(acme)

    issued = _token(anon_client)
    pair = issued.json()
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {pair['access']}"}
    listed = anon_client.get("/api/v1/admin/bookings", **bearer)
    refreshed = send_json(anon_client, "post", "/api/v1/auth/refresh", {"refresh": pair["refresh"]})
    reused = send_json(anon_client, "post", "/api/v1/auth/refresh", {"refresh": pair["refresh"]})
    new_refresh = refreshed.json()["refresh"]
    logout = send_json(anon_client, "post", "/api/v1/auth/logout", {"refresh": new_refresh})
    after_logout = send_json(anon_client, "post", "/api/v1/auth/refresh", {"refresh": new_refresh})

    assert issued.status_code == 200
    assert set(pair) == {"access", "refresh"}
    assert listed.status_code == 200
    assert refreshed.status_code == 200
    assert new_refresh != pair["refresh"]
    assert reused.status_code == 401, "rotation blacklists the used refresh token"
    assert error_of(reused)["code"] == "UNAUTHENTICATED"
    assert logout.status_code == 204
    assert after_logout.status_code == 401


def test_jwt_lifetimes_and_tenant_claim(acme, anon_client):
    _member(acme)

    pair = _token(anon_client).json()

    access = jwt.decode(pair["access"], options={"verify_signature": False})
    refresh = jwt.decode(pair["refresh"], options={"verify_signature": False})
    assert access["exp"] - access["iat"] == 15 * 60
    assert refresh["exp"] - refresh["iat"] == 7 * 24 * 3600
    assert access["tenant"] == refresh["tenant"] == acme.schema_name


def test_jwt_refused_for_wrong_password_and_non_members(acme, anon_client):
    _member(acme)
    UserFactory(email="stranger@acme.test")

    wrong = send_json(
        anon_client,
        "post",
        "/api/v1/auth/token",
        {"email": "desk@acme.test", "password": "nope-nope-nope"},
    )
    stranger = _token(anon_client, email="stranger@acme.test")

    assert wrong.status_code == 401
    assert stranger.status_code == 401
    assert error_of(stranger)["message"] == error_of(wrong)["message"]


def test_jwt_stops_working_when_the_membership_ends(acme, anon_client):
    membership = _member(acme)
    access = _token(anon_client).json()["access"]
    membership.delete()

    response = anon_client.get("/api/v1/admin/bookings", HTTP_AUTHORIZATION=f"Bearer {access}")

    assert response.status_code == 401


def test_jwt_role_follows_the_membership(acme, anon_client):
    _member(acme, role=Membership.Role.FRONTDESK)
    access = _token(anon_client).json()["access"]

    response = send_json(
        anon_client,
        "post",
        "/api/v1/admin/locations",
        {"name": "X", "timezone": "UTC"},
        HTTP_AUTHORIZATION=f"Bearer {access}",
    )

    assert response.status_code == 403


def test_jwt_for_admins_requires_a_totp_code(acme, anon_client):
    membership = _member(acme, role=Membership.Role.ADMIN, email="boss@acme.test")

    no_device = _token(anon_client, email="boss@acme.test")
    device = TOTPDevice.objects.create(user=membership.user, name="phone", confirmed=True)
    no_code = _token(anon_client, email="boss@acme.test")
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    good = _token(anon_client, email="boss@acme.test", otp=f"{code:06d}")
    wrong_code = _token(anon_client, email="boss@acme.test", otp=f"{(code + 1) % 10**6:06d}")

    assert no_device.status_code == 401
    assert error_of(no_device)["code"] == "MFA_REQUIRED"
    assert error_of(no_code)["code"] == "MFA_REQUIRED"
    assert good.status_code == 200
    assert wrong_code.status_code == 401


def test_expired_jwt_is_401(acme, anon_client):
    membership = _member(acme)
    access = AccessToken.for_user(membership.user)
    access["tenant"] = acme.schema_name
    access.set_exp(from_time=timezone.now() - dt.timedelta(minutes=16))

    response = anon_client.get("/api/v1/admin/bookings", HTTP_AUTHORIZATION=f"Bearer {access}")

    assert response.status_code == 401
    assert error_of(response)["code"] == "UNAUTHENTICATED"


# --- Dashboard session -------------------------------------------------------------


def test_session_members_call_the_api_with_csrf(acme, acme_host):
    membership = _member(acme, role=Membership.Role.MANAGER, email="manager@acme.test")
    client = Client(HTTP_HOST=acme_host, enforce_csrf_checks=True)
    client.get("/accounts/login/")  # sets the CSRF cookie, as the dashboard's pages do
    csrf = client.cookies["csrftoken"].value
    client.force_login(membership.user)

    read = client.get("/api/v1/admin/locations")
    without_csrf = send_json(
        client, "post", "/api/v1/admin/locations", {"name": "A", "timezone": "UTC"}
    )
    with_csrf = send_json(
        client,
        "post",
        "/api/v1/admin/locations",
        {"name": "A", "timezone": "UTC"},
        HTTP_X_CSRFTOKEN=csrf,
    )

    assert read.status_code == 200
    assert without_csrf.status_code == 403
    assert error_of(without_csrf)["code"] == "PERMISSION_DENIED"
    assert "CSRF" in error_of(without_csrf)["message"]
    assert with_csrf.status_code == 201
