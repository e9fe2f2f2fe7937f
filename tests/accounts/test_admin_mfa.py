"""Support agents reach the admin sites only with a second factor, and every request
they make there is written to the append-only support-access trail of the schema."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import DatabaseError, transaction
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_tenants.utils import schema_context

from apps.accounts.mfa import mfa_backup_codes_replace
from apps.accounts.models import AuthenticatorDevice
from apps.audit.models import SupportAccess
from tests.plugins.factories import UserFactory, verified_staff_client

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


def _code(device: AuthenticatorDevice) -> str:
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{code:0{device.digits}d}"


@pytest.fixture
def agent():
    user = UserFactory.create(email="agent@timenest.test", is_staff=True, is_superuser=True)
    device = AuthenticatorDevice.objects.create(user=user, name="phone", confirmed=True)
    return user, device


@pytest.mark.parametrize("host", ["localhost", "acme.localhost"])
def test_admin_refuses_a_password_only_session(host, agent):
    # given a staff member signed in with a password alone
    client = Client(HTTP_HOST=host)
    client.force_login(agent[0])

    # when they open the admin, then they are sent to its login, which asks for a code
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert "otp_token" in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize("host", ["localhost", "acme.localhost"])
def test_admin_login_needs_the_password_and_a_current_code(host, agent):
    user, device = agent
    client = Client(HTTP_HOST=host)
    form = {"username": user.email, "password": PASSWORD, "next": "/admin/"}

    # password alone: refused, the page asks for the code
    refused = client.post("/admin/login/", form)
    assert refused.status_code == 200
    assert client.get("/admin/").status_code == 302

    # a wrong code: refused, and the device slows down further guesses
    assert client.post("/admin/login/", form | {"otp_token": "000000"}).status_code == 200
    assert client.get("/admin/").status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    AuthenticatorDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - timedelta(minutes=1)
    )  # the back-off has passed

    # the app's current code: in (a tenant's admin first asks why the agent is there)
    accepted = client.post("/admin/login/", form | {"otp_token": _code(device)})
    assert accepted.status_code == 302
    opened = client.get("/admin/", follow=True)
    assert opened.status_code == 200 and "otp_token" not in opened.content.decode()


def test_a_backup_code_opens_the_admin_once(agent):
    user, _ = agent
    [code, *_] = mfa_backup_codes_replace(user=user)
    form = {"username": user.email, "password": PASSWORD, "otp_token": code}

    first = Client(HTTP_HOST="localhost")
    assert first.post("/admin/login/", form).status_code == 302
    assert first.get("/admin/").status_code == 200

    second = Client(HTTP_HOST="localhost")
    assert second.post("/admin/login/", form).status_code == 200  # used up
    assert second.get("/admin/").status_code == 302


def test_tenant_admin_requests_are_kept_in_that_tenants_trail(acme_host):
    # given a verified support agent on acme's domain
    client = verified_staff_client(acme_host, email="looker@timenest.test")

    # when they browse acme's admin
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/bookings/booking/?q=smith").status_code == 200

    # then acme's own trail names them and what they opened; globex's and the
    # platform's trails do not
    with schema_context("t_acme"):
        trail = list(SupportAccess.objects.order_by("created_at"))
    assert [(a.user_email, a.method, a.path, a.site) for a in trail] == [
        ("looker@timenest.test", "GET", "/admin/", "tenant_admin"),
        ("looker@timenest.test", "GET", "/admin/bookings/booking/?q=smith", "tenant_admin"),
    ]
    with schema_context("t_globex"):
        assert not SupportAccess.objects.exists()
    with schema_context("public"):
        assert not SupportAccess.objects.filter(user_email="looker@timenest.test").exists()


def test_platform_admin_requests_are_kept_in_the_public_trail():
    client = verified_staff_client("localhost", email="platform@timenest.test")

    assert client.get("/admin/accounts/tenant/").status_code == 200

    with schema_context("public"):
        access = SupportAccess.objects.get(user_email="platform@timenest.test")
    assert (access.site, access.path) == ("admin", "/admin/accounts/tenant/")


def test_refused_admin_requests_are_not_accesses(agent, acme_host):
    client = Client(HTTP_HOST=acme_host)
    client.force_login(agent[0])

    client.get("/admin/")

    with schema_context("t_acme"):
        assert not SupportAccess.objects.exists()


def test_support_access_trail_refuses_update_and_delete(acme_host):
    verified_staff_client(acme_host).get("/admin/")
    with schema_context("t_acme"):
        access = SupportAccess.objects.get()
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            SupportAccess.objects.filter(pk=access.pk).update(path="/elsewhere/")
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            SupportAccess.objects.filter(pk=access.pk).delete()
        assert SupportAccess.objects.get().path == "/admin/"


def test_mfa_setup_confirms_an_authenticator_and_opens_the_admin():
    # given a staff member with no second factor, signed in with a password
    user = UserFactory.create(is_staff=True, is_superuser=True)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)

    # when they open the set-up page, they get a QR code and the key
    page = client.get("/accounts/mfa/")
    assert page.status_code == 200
    assert "<svg" in page.content.decode()
    device = AuthenticatorDevice.objects.get(user=user, confirmed=False)

    # a wrong code is a field error that keeps what was typed, and confirms nothing
    wrong = client.post("/accounts/mfa/", {"token": "12345x"})
    assert wrong.status_code == 400
    assert 'value="12345x"' in wrong.content.decode()
    assert "did not match" in wrong.content.decode()
    assert not AuthenticatorDevice.objects.filter(user=user, confirmed=True).exists()

    # the current code confirms it, shows backup codes once, and the admin opens
    done = client.post("/accounts/mfa/", {"token": _code(device)})
    assert done.status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    assert done.content.decode().count("<code>") == 10
    assert client.get("/admin/").status_code == 200


def test_mfa_setup_is_for_signed_in_people():
    response = Client(HTTP_HOST="localhost").get("/accounts/mfa/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_load_demo_gives_the_support_agent_a_second_factor_that_opens_the_admin(
    capsys, settings, tmp_path
):
    # given the demo loaded on a development machine (twice: backup codes are topped up,
    # never duplicated)
    settings.DEBUG, settings.LOCAL_DIR = True, tmp_path
    call_command("load_demo")
    call_command("load_demo")
    output = capsys.readouterr().out
    admin = json.loads((tmp_path / "demo-credentials.json").read_text())["platform_admin"]
    device = AuthenticatorDevice.objects.get(user__email=admin["email"], confirmed=True)
    assert base64.b32encode(device.bin_key).decode() in output

    # when the agent logs in with the printed authenticator's current code
    client = Client(HTTP_HOST="localhost")
    form = {"username": admin["email"], "password": admin["password"]}
    assert client.post("/admin/login/", form | {"otp_token": _code(device)}).status_code == 302

    # then the platform admin opens; a printed backup code works too
    assert client.get("/admin/").status_code == 200
    other = Client(HTTP_HOST="localhost")
    code = admin["backup_codes"][0]
    assert code in output
    assert other.post("/admin/login/", form | {"otp_token": code}).status_code == 302


def test_support_access_trail_is_readable_but_not_editable_in_the_admin(acme_host):
    client = verified_staff_client(acme_host, email="reader@timenest.test")
    client.get("/admin/")

    listing = client.get("/admin/audit/supportaccess/")

    assert listing.status_code == 200
    assert "reader@timenest.test" in listing.content.decode()
    assert client.get("/admin/audit/supportaccess/add/").status_code == 403
