"""A business's admins pass a second factor before its dashboard opens (PRODUCT.md §4.8):
an admin with none sets one up first; anyone who has set one up is asked for it; the
dashboard's own API calls by session are held to the same rule."""

from __future__ import annotations

import base64
import importlib
import json
import re

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from apps.accounts.mfa import BACKUP_ALPHABET, backup_code_digests, mfa_backup_codes_replace
from apps.accounts.models import AuthenticatorDevice, Membership, Tenant
from apps.core.encryption import pii_encrypt
from tests.plugins.factories import MembershipFactory, member_client

pytestmark = pytest.mark.django_db

HOST = "acme.localhost"
PASSWORD = "correct-horse-battery"


def _code(device: AuthenticatorDevice) -> str:
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{code:0{device.digits}d}"


def _signed_in(role: str, *, with_device: bool = False) -> tuple[Client, Membership]:
    membership = MembershipFactory.create(tenant=Tenant.objects.get(slug="acme"), role=role)
    if with_device:
        AuthenticatorDevice.objects.create(user=membership.user, name="phone", confirmed=True)
    client = Client(HTTP_HOST=HOST)
    client.force_login(membership.user)
    return client, membership


def test_an_admin_without_a_factor_sets_one_up_and_lands_where_they_were_going():
    # given an admin signed in with a password only, and no authenticator yet
    client, membership = _signed_in(Membership.Role.ADMIN)

    # when they open the bookings, they are sent to set up two-step sign-in first
    response = client.get("/dashboard/bookings/?status=held")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/mfa/?next=%2Fdashboard%2Fbookings%2F%3Fstatus%3Dheld"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Acme Clinic asks its admins for a second step" in page.content.decode()
    device = AuthenticatorDevice.objects.get(user=membership.user, confirmed=False)

    # and confirming the app's code shows backup codes and the way on
    done = client.post(
        "/accounts/mfa/", {"token": _code(device), "next": "/dashboard/bookings/?status=held"}
    )
    body = done.content.decode()
    assert done.status_code == 200
    assert body.count("<code>") == 10
    assert 'href="/dashboard/bookings/?status=held"' in body

    # then the dashboard opens in this session
    assert client.get("/dashboard/bookings/?status=held").status_code == 200


def test_a_member_with_a_factor_passes_it_once_per_session(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # a wrong guess does not slow the next one here
    client, membership = _signed_in(Membership.Role.MANAGER, with_device=True)
    device = AuthenticatorDevice.objects.get(user=membership.user)

    # a password-only session is sent to the code page, and back afterwards
    response = client.get("/dashboard/calendar/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/mfa/verify/?next=%2Fdashboard%2Fcalendar%2F"

    # a wrong code is a field error, and nothing opens
    wrong = client.post(response["Location"], {"code": "000000", "next": "/dashboard/calendar/"})
    assert wrong.status_code == 400
    assert "did not match" in wrong.content.decode()
    assert 'aria-invalid="true"' in wrong.content.decode()
    assert client.get("/dashboard/calendar/").status_code == 302

    # the current code opens the page that asked
    right = client.post(
        "/accounts/mfa/verify/", {"code": _code(device), "next": "/dashboard/calendar/"}
    )
    assert right.status_code == 302
    assert right["Location"] == "/dashboard/calendar/"
    assert client.get("/dashboard/calendar/").status_code == 200
    assert client.get("/dashboard/").status_code == 200


def test_wrong_guesses_slow_the_next_try_down_and_say_so():
    client, membership = _signed_in(Membership.Role.ADMIN, with_device=True)
    device = AuthenticatorDevice.objects.get(user=membership.user)

    client.post("/accounts/mfa/verify/", {"code": "000000"})
    # even the right code is refused during the wait that follows a wrong one
    throttled = client.post("/accounts/mfa/verify/", {"code": _code(device)})

    assert throttled.status_code == 400
    assert "Too many wrong codes" in throttled.content.decode()
    assert client.get("/dashboard/").status_code == 302


def test_a_backup_code_opens_the_dashboard_once():
    client, membership = _signed_in(Membership.Role.ADMIN, with_device=True)
    codes = mfa_backup_codes_replace(user=membership.user)

    used = client.post("/accounts/mfa/verify/", {"code": f" {codes[0]} "})
    assert used.status_code == 302
    assert client.get("/dashboard/").status_code == 200

    # a new session cannot spend the same code again
    again = Client(HTTP_HOST=HOST)
    again.force_login(membership.user)
    refused = again.post("/accounts/mfa/verify/", {"code": codes[0]})
    assert refused.status_code == 400
    assert again.get("/dashboard/").status_code == 302


def _stored(code: str) -> str:
    return backup_code_digests(code)[0]


def test_backup_codes_are_long_and_kept_only_as_digests():
    client, membership = _signed_in(Membership.Role.ADMIN, with_device=True)
    codes = mfa_backup_codes_replace(user=membership.user)

    assert len(set(codes)) == 10
    for code in codes:
        symbols = code.replace("-", "")
        assert len(symbols) == 12 and set(symbols) <= set(BACKUP_ALPHABET)
    assert len(BACKUP_ALPHABET) ** 12 >= 2**50
    stored = set(StaticToken.objects.values_list("token", flat=True))
    assert not stored & {c for code in codes for c in (code, code.replace("-", ""))}
    with connection.cursor() as cursor:
        cursor.execute("SELECT token FROM otp_static_statictoken")
        dumped = " ".join(row[0] for row in cursor.fetchall()).upper()
    assert not any(code.replace("-", "") in dumped for code in codes)

    # typed in lower case with spaces, it still opens the dashboard once
    typed = " ".join(codes[3].lower().split("-"))
    assert client.post("/accounts/mfa/verify/", {"code": typed}).status_code == 302
    assert client.get("/dashboard/").status_code == 200


def test_backup_codes_stored_in_clear_before_keep_working_once_digested():
    _, membership = _signed_in(Membership.Role.ADMIN, with_device=True)
    device = StaticDevice.objects.create(user=membership.user, name="Backup codes")
    StaticToken.objects.create(device=device, token="a1b2c3d4")  # the old form

    migration = importlib.import_module("apps.accounts.migrations.0007_backup_codes_hashed")
    migration._digest_existing(django_apps, None)

    assert StaticToken.objects.get(device=device).token == _stored("a1b2c3d4")
    again = Client(HTTP_HOST=HOST)
    again.force_login(membership.user)
    assert again.post("/accounts/mfa/verify/", {"code": "A1B2C3D4"}).status_code == 302


def test_roles_below_admin_without_a_factor_are_not_asked():
    client, _ = _signed_in(Membership.Role.FRONTDESK)

    assert client.get("/dashboard/").status_code == 200


def test_the_way_back_after_the_code_stays_on_this_site():
    client, membership = _signed_in(Membership.Role.ADMIN, with_device=True)
    device = AuthenticatorDevice.objects.get(user=membership.user)

    response = client.post(
        "/accounts/mfa/verify/", {"code": _code(device), "next": "https://evil.test/phish"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"


def test_an_htmx_call_from_an_unverified_admin_is_redirected_whole_and_does_nothing(acme):
    client, _ = _signed_in(Membership.Role.ADMIN, with_device=True)

    response = client.post(
        "/dashboard/settings/",
        {"hold_ttl_minutes": "45"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://{HOST}/dashboard/settings/",
    )

    assert response.status_code == 200
    assert (
        response["HX-Redirect"]
        == "/accounts/mfa/verify/?next=http%3A%2F%2Facme.localhost%2Fdashboard%2Fsettings%2F"
    )
    acme.refresh_from_db()
    assert acme.hold_ttl_minutes != 45


def test_the_dashboards_session_api_calls_need_the_factor_too(acme):
    client, membership = _signed_in(Membership.Role.ADMIN)

    refused = client.get("/api/v1/admin/locations")
    verified = member_client(membership, HOST).get("/api/v1/admin/locations")

    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "MFA_REQUIRED"
    assert verified.status_code == 200


def test_load_demo_gives_the_owner_a_second_factor_that_opens_the_dashboard(
    capsys, settings, tmp_path
):
    settings.DEBUG, settings.LOCAL_DIR = True, tmp_path  # a development machine's
    call_command("load_demo")
    output = capsys.readouterr().out
    owner = json.loads((tmp_path / "demo-credentials.json").read_text())["owner"]
    device = AuthenticatorDevice.objects.get(user__email=owner["email"], confirmed=True)
    assert base64.b32encode(device.bin_key).decode() in output
    assert owner["backup_codes"][0] in output

    client = Client(HTTP_HOST="demo.localhost")
    form = {"username": owner["email"], "password": owner["password"]}
    assert client.post("/accounts/login/", form).status_code == 302
    assert client.get("/dashboard/")["Location"].startswith("/accounts/mfa/verify/")
    assert client.post("/accounts/mfa/verify/", {"code": _code(device)}).status_code == 302
    assert client.get("/dashboard/").status_code == 200


def test_new_backup_codes_need_the_factor_passed_first():
    # given a member with an authenticator, signed in with a password only
    client, membership = _signed_in(Membership.Role.SCHEDULER, with_device=True)
    old = mfa_backup_codes_replace(user=membership.user)

    # the set-up page sends them to pass it, and making codes changes nothing
    page = client.get("/accounts/mfa/")
    post = client.post("/accounts/mfa/", {"action": "backup-codes"})
    assert page["Location"] == "/accounts/mfa/verify/?next=%2Faccounts%2Fmfa%2F"
    assert post.status_code == 302
    assert membership.user.staticdevice_set.get().token_set.filter(token=_stored(old[1])).exists()

    # once passed (with a backup code), they can replace the set, shown once
    client.post("/accounts/mfa/verify/", {"code": old[0]})
    made = client.post("/accounts/mfa/", {"action": "backup-codes"})
    assert made.status_code == 200
    assert made.content.decode().count("<code>") == 10
    assert not (
        membership.user.staticdevice_set.get().token_set.filter(token=_stored(old[1])).exists()
    )


def test_the_header_links_to_two_step_sign_in_for_signed_in_staff():
    client = member_client(
        MembershipFactory.create(tenant=Tenant.objects.get(slug="acme"), role="frontdesk"), HOST
    )

    assert (
        'href="/accounts/mfa/">Two-step sign-in</a>' in client.get("/dashboard/").content.decode()
    )


def test_the_team_page_shows_who_has_two_step_sign_in(acme):
    admin = MembershipFactory.create(tenant=acme, role="admin")
    client = member_client(admin, HOST)  # gives the admin an authenticator
    MembershipFactory.create(tenant=acme, role="admin", user__email="new-admin@acme.test")
    MembershipFactory.create(tenant=acme, role="frontdesk", user__email="desk@acme.test")
    codes_only = MembershipFactory.create(
        tenant=acme, role="scheduler", user__email="codes@acme.test"
    )
    mfa_backup_codes_replace(user=codes_only.user)

    body = client.get("/dashboard/team/").content.decode()
    two_step = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td>(.*?)</td>", row, re.S)
        ]
        if cells:
            two_step[cells[0].split()[0]] = cells[1]

    assert two_step == {
        "owner@acme.test": "Not yet: set up at their next sign-in",  # the test tenant's
        admin.user.email: "On",
        "new-admin@acme.test": "Not yet: set up at their next sign-in",
        "desk@acme.test": "Off",
        "codes@acme.test": "On",  # backup codes alone are a factor the dashboard asks for
    }


def test_backup_codes_alone_are_a_factor_the_set_up_page_asks_for_first():
    # given an admin whose authenticator support removed; backup codes remain
    client, membership = _signed_in(Membership.Role.ADMIN)
    codes = mfa_backup_codes_replace(user=membership.user)

    # a password-only session is asked for a code, by the dashboard and by the set-up
    # page alike: it cannot put a new authenticator in place of the factor it lacks
    assert client.get("/dashboard/")["Location"].startswith("/accounts/mfa/verify/")
    assert (
        client.get("/accounts/mfa/")["Location"]
        == "/accounts/mfa/verify/?next=%2Faccounts%2Fmfa%2F"
    )
    assert not AuthenticatorDevice.objects.filter(user=membership.user).exists()

    # once a backup code is passed, the set-up page offers a new authenticator
    client.post("/accounts/mfa/verify/", {"code": codes[0]})
    assert "<svg" in client.get("/accounts/mfa/").content.decode()


def test_spent_backup_codes_are_no_factor():
    admin, admin_membership = _signed_in(Membership.Role.ADMIN)
    desk, desk_membership = _signed_in(Membership.Role.FRONTDESK)
    for member in (admin_membership, desk_membership):
        mfa_backup_codes_replace(user=member.user, count=1)
        member.user.staticdevice_set.get().token_set.all().delete()

    # the admin is sent to set up an authenticator, not to type a code they lack
    assert admin.get("/dashboard/")["Location"] == "/accounts/mfa/?next=%2Fdashboard%2F"
    assert desk.get("/dashboard/").status_code == 200


def test_each_session_sets_up_its_own_key_and_the_first_confirmed_wins():
    # given two sessions of one admin (the person, and someone who has the password)
    membership = MembershipFactory.create(tenant=Tenant.objects.get(slug="acme"), role="admin")
    sessions = []
    for _ in range(2):
        client = Client(HTTP_HOST=HOST)
        client.force_login(membership.user)
        client.get("/accounts/mfa/")
        sessions.append(client)
    keys = [
        AuthenticatorDevice.objects.get(pk=client.session["mfa_pending_device"]).bin_key
        for client in sessions
    ]
    # each saw a key of its own, and reloading shows the same one again
    assert keys[0] != keys[1]
    sessions[0].get("/accounts/mfa/")
    assert AuthenticatorDevice.objects.filter(user=membership.user, confirmed=False).count() == 2

    # when the first confirms its key, the other set-up is dropped
    first = AuthenticatorDevice.objects.get(pk=sessions[0].session["mfa_pending_device"])
    sessions[0].post("/accounts/mfa/", {"token": _code(first)})
    other = AuthenticatorDevice(key_encrypted=pii_encrypt(keys[1].hex()))
    late = sessions[1].post("/accounts/mfa/", {"token": _code(other)})

    # and the second session is asked for the first one's code instead
    assert late.status_code == 302
    assert late["Location"].startswith("/accounts/mfa/verify/")
    confirmed = AuthenticatorDevice.objects.get(user=membership.user)
    assert (confirmed.confirmed, confirmed.bin_key) == (True, keys[0])


def test_public_api_calls_from_an_unverified_session_answer_as_for_anyone(acme):
    client, _ = _signed_in(Membership.Role.ADMIN)

    public = client.get("/api/v1/services")
    staff_only = client.get("/api/v1/admin/services")

    assert public.status_code == 200
    assert staff_only.status_code == 401
    assert staff_only.json()["error"]["code"] == "MFA_REQUIRED"
