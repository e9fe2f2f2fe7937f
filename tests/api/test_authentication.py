"""API keys, staff JWTs and the dashboard session."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import jwt
import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_tenants.utils import tenant_context
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from apps.accounts.models import AuthenticatorDevice, Membership
from apps.accounts.team import membership_change_role
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
    device = AuthenticatorDevice.objects.create(user=membership.user, name="phone", confirmed=True)
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


# --- Staff JWTs: a refresh applies the sign-in's rules, and a chain of refreshes ends ---


def _refresh(client, refresh):
    return send_json(client, "post", "/api/v1/auth/refresh", {"refresh": refresh})


def _code(device):
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def _claims(token):
    return jwt.decode(token, options={"verify_signature": False})


@contextmanager
def _clock(at: dt.datetime) -> Iterator[None]:
    """simplejwt's clock (tokens are made and checked as at `at`). Only ever set in the
    past: PyJWT also checks `exp` and `iat` against the real time."""
    with mock.patch("rest_framework_simplejwt.tokens.aware_utcnow", return_value=at):
        yield


def test_jwt_refresh_refused_once_a_manager_without_a_factor_is_made_admin(acme, anon_client):
    # given a manager without a second factor, signed in with a password
    membership = _member(acme, role=Membership.Role.MANAGER, email="mgr@acme.test")
    pair = _token(anon_client, email="mgr@acme.test").json()
    assert _refresh(anon_client, pair["refresh"]).status_code == 200  # a manager may

    # when they are made admin
    pair = _token(anon_client, email="mgr@acme.test").json()
    membership_change_role(membership=membership, role=Membership.Role.ADMIN)
    refused = _refresh(anon_client, pair["refresh"])
    signin = _token(anon_client, email="mgr@acme.test")

    # then the refresh is refused as a sign-in would be, in the envelope
    assert refused.status_code == signin.status_code == 401
    assert error_of(refused)["code"] == error_of(signin)["code"] == "MFA_REQUIRED"
    assert "second factor" in error_of(refused)["message"]


def test_jwt_refresh_of_a_chain_without_a_code_refused_after_a_factor_is_set_up(acme, anon_client):
    # given a manager signed in with a password only, then made admin
    membership = _member(acme, role=Membership.Role.MANAGER, email="mgr@acme.test")
    pair = _token(anon_client, email="mgr@acme.test").json()
    membership_change_role(membership=membership, role=Membership.Role.ADMIN)

    # when they set up an authenticator: a sign-in now needs its code
    device = AuthenticatorDevice.objects.create(user=membership.user, name="phone", confirmed=True)
    refused = _refresh(anon_client, pair["refresh"])
    signin_without_code = _token(anon_client, email="mgr@acme.test")
    signin = _token(anon_client, email="mgr@acme.test", otp=_code(device))
    refreshed = _refresh(anon_client, signin.json()["refresh"])

    # then the old chain, which never gave a code, is refused; one begun with it is not
    assert refused.status_code == signin_without_code.status_code == 401
    assert error_of(refused)["code"] == error_of(signin_without_code)["code"] == "MFA_REQUIRED"
    assert _claims(pair["refresh"])["amr"] == ["pwd"]
    assert signin.status_code == refreshed.status_code == 200
    assert _claims(refreshed.json()["refresh"])["amr"] == ["pwd", "otp"]


def test_jwt_refresh_refused_for_a_frontdesk_who_sets_up_a_factor_after_signing_in(
    acme, anon_client
):
    membership = _member(acme)
    pair = _token(anon_client).json()

    AuthenticatorDevice.objects.create(user=membership.user, name="phone", confirmed=True)
    refused = _refresh(anon_client, pair["refresh"])

    assert refused.status_code == 401
    assert error_of(refused)["code"] == "MFA_REQUIRED"


def test_jwt_refresh_goes_on_for_a_promoted_admin_who_signed_in_with_a_code(acme, anon_client):
    # given a manager with an authenticator, signed in with its code, then made admin
    membership = _member(acme, role=Membership.Role.MANAGER, email="mgr@acme.test")
    device = AuthenticatorDevice.objects.create(user=membership.user, name="phone", confirmed=True)
    pair = _token(anon_client, email="mgr@acme.test", otp=_code(device)).json()
    membership_change_role(membership=membership, role=Membership.Role.ADMIN)

    # when the chain is refreshed twice, then after the admin removed their factor
    first = _refresh(anon_client, pair["refresh"])
    second = _refresh(anon_client, first.json()["refresh"])
    device.delete()
    without_factor = _refresh(anon_client, second.json()["refresh"])

    # then it goes on while a sign-in would be allowed, and stops when it would not
    assert first.status_code == second.status_code == 200
    admin_call = anon_client.get(
        "/api/v1/admin/api-keys", HTTP_AUTHORIZATION=f"Bearer {second.json()['access']}"
    )
    assert admin_call.status_code == 200
    assert without_factor.status_code == 401
    assert error_of(without_factor)["code"] == "MFA_REQUIRED"


def test_jwt_refresh_chain_ends_at_the_absolute_lifetime(acme, anon_client, settings):
    # given chains that may last 12 hours from their sign-in
    settings.STAFF_TOKEN_ABSOLUTE_LIFETIME = dt.timedelta(hours=12)
    _member(acme)
    now = timezone.now()
    signed_in_at = now - dt.timedelta(hours=11)

    # when a chain begun 11 hours ago was refreshed an hour later, and is refreshed
    # again just after its twelfth hour
    with _clock(signed_in_at):
        pair = _token(anon_client).json()
    with _clock(signed_in_at + dt.timedelta(hours=1)):
        rotated = _refresh(anon_client, pair["refresh"])
    with _clock(signed_in_at + dt.timedelta(hours=12, seconds=1)):
        late = _refresh(anon_client, rotated.json()["refresh"])

    # then the first refresh worked, its tokens end with the chain, and the late one is
    # refused though that token alone would be good for 7 days from its issue
    assert rotated.status_code == 200
    auth_time = int(signed_in_at.timestamp())
    claims = _claims(rotated.json()["refresh"])
    assert claims["auth_time"] == _claims(pair["refresh"])["auth_time"] == auth_time
    assert _claims(pair["refresh"])["exp"] == claims["exp"] == auth_time + 12 * 3600
    assert _claims(rotated.json()["access"])["exp"] <= auth_time + 12 * 3600
    assert late.status_code == 401
    assert error_of(late)["code"] == "UNAUTHENTICATED"


def test_jwt_refresh_after_the_absolute_lifetime_refused_though_the_token_is_fresh(
    acme, anon_client, settings
):
    # given a chain begun 13 hours ago and refreshed since, each token good for 7 days
    membership = _member(acme)
    now = timezone.now()
    with _clock(now - dt.timedelta(hours=13)):
        pair = _token(anon_client).json()
    with _clock(now - dt.timedelta(hours=12, minutes=30)):
        fresh = _refresh(anon_client, pair["refresh"]).json()["refresh"]
    assert _claims(fresh)["exp"] > (now + dt.timedelta(days=6)).timestamp()
    # and a token from before chains carried their sign-in time, 13 hours old
    with _clock(now - dt.timedelta(hours=13)):
        legacy = RefreshToken.for_user(membership.user)
        legacy["tenant"] = acme.schema_name

    # when chains may last only 12 hours from now on
    settings.STAFF_TOKEN_ABSOLUTE_LIFETIME = dt.timedelta(hours=12)
    refused = _refresh(anon_client, fresh)
    legacy_refused = _refresh(anon_client, str(legacy))

    # then both are refused with a reason; with 14 hours, the same token still works
    assert refused.status_code == legacy_refused.status_code == 401
    assert error_of(refused)["code"] == "UNAUTHENTICATED"
    assert "sign in again" in error_of(refused)["message"]
    assert error_of(legacy_refused)["message"] == error_of(refused)["message"]
    settings.STAFF_TOKEN_ABSOLUTE_LIFETIME = dt.timedelta(hours=14)
    assert _refresh(anon_client, fresh).status_code == 200


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
