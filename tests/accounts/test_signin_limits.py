"""Password guessing stops at the limit on every sign-in surface, the right password
then fails too until the lockout ends, and the admin login never says which of email,
password and code was wrong. Idle staff sessions end; "sign out everywhere" ends all."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp

from apps.accounts.models import AuthenticatorDevice, Membership
from apps.accounts.signin import LAST_SEEN_KEY
from tests.api.calls import error_of, send_json
from tests.booking_site.catalogue import generous_rates
from tests.plugins.factories import MembershipFactory, UserFactory, member_client

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()


def _lockout_ends() -> None:
    """Moves every counted failure back past the cool-off, as if its time had passed."""
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )


def _code(device: AuthenticatorDevice) -> str:
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{code:0{device.digits}d}"


def _login(client: Client, email: str, password: str):
    return client.post("/accounts/login/", {"username": email, "password": password})


@pytest.mark.parametrize("host", ["localhost", "acme.localhost"])
def test_login_page_locks_the_account_after_the_limit(host):
    user = UserFactory.create(email="guessed@example.test")
    MembershipFactory.create(user=user, role=Membership.Role.FRONTDESK)

    answers = [
        _login(Client(HTTP_HOST=host, REMOTE_ADDR=f"10.1.0.{n}"), user.email, f"guess-{n}")
        for n in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert [a.status_code for a in answers[:-1]] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert answers[-1].status_code == 429

    # the right password, from yet another address, is refused while the lockout lasts
    locked = _login(Client(HTTP_HOST=host, REMOTE_ADDR="10.9.9.9"), user.email, PASSWORD)
    assert locked.status_code == 429
    assert "Sign-in paused" in locked.content.decode()
    assert int(locked["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    assert "_auth_user_id" not in locked.client.session

    _lockout_ends()
    opened = _login(Client(HTTP_HOST=host, REMOTE_ADDR="10.9.9.9"), user.email, PASSWORD)
    assert opened.status_code == 302


def test_login_page_locks_an_address_that_tries_many_accounts():
    victims = [UserFactory.create(email=f"victim{n}@example.test") for n in range(6)]
    guesser = Client(HTTP_HOST="localhost", REMOTE_ADDR="203.0.113.7")
    for victim in victims[: settings.AXES_FAILURE_LIMIT]:
        _login(guesser, victim.email, "not-their-password")

    # the last account was never guessed, yet this address may not sign in to it
    assert _login(guesser, victims[-1].email, PASSWORD).status_code == 429
    # someone else, elsewhere, signs in to it
    elsewhere = Client(HTTP_HOST="localhost", REMOTE_ADDR="198.51.100.1")
    assert _login(elsewhere, victims[-1].email, PASSWORD).status_code == 302


def test_a_lockout_needs_no_redis(monkeypatch):
    """Failures are counted in PostgreSQL: with the cache unreachable the limit holds."""
    user = UserFactory.create(email="noredis@example.test")

    def unreachable(*args, **kwargs):
        raise ConnectionError("redis down")

    monkeypatch.setattr(cache, "get", unreachable)
    monkeypatch.setattr(cache, "set", unreachable)
    for n in range(settings.AXES_FAILURE_LIMIT):
        _login(Client(HTTP_HOST="localhost"), user.email, f"guess-{n}")

    assert _login(Client(HTTP_HOST="localhost"), user.email, PASSWORD).status_code == 429


@pytest.fixture
def agent():
    user = UserFactory.create(email="agent@timenest.test", is_staff=True, is_superuser=True)
    device = AuthenticatorDevice.objects.create(user=user, name="phone", confirmed=True)
    return user, device


def _admin_login(client: Client, email: str, password: str, code: str = ""):
    return client.post(
        "/admin/login/",
        {"username": email, "password": password, "otp_token": code, "next": "/admin/"},
    )


def _page_without_token(response) -> str:
    body = response.content.decode()
    start = body.index('name="csrfmiddlewaretoken"')
    body = body[:start] + body[body.index(">", start) :]
    return body.split("hx-headers=")[0] + body.split("</head>")[-1]


@pytest.mark.parametrize("host", ["localhost", "acme.localhost"])
def test_admin_login_never_says_which_part_was_wrong(host, agent):
    user, _device = agent
    wrong_password = _admin_login(Client(HTTP_HOST=host), user.email, "wrong-password", "123456")
    wrong_code = _admin_login(Client(HTTP_HOST=host), user.email, PASSWORD, "000000")
    no_code = _admin_login(Client(HTTP_HOST=host), user.email, PASSWORD)
    unknown = _admin_login(Client(HTTP_HOST=host), "nobody@timenest.test", PASSWORD, "123456")

    pages = {
        _page_without_token(answer).replace(email, "EMAIL")
        for answer, email in [
            (wrong_password, user.email),
            (wrong_code, user.email),
            (no_code, user.email),
            (unknown, "nobody@timenest.test"),
        ]
    }
    assert len(pages) == 1
    page = pages.pop()
    assert "All three are checked together" in page
    assert "otp_device" not in page  # no device list after a right password
    assert {a.status_code for a in (wrong_password, wrong_code, no_code, unknown)} == {200}


def test_admin_codes_count_towards_the_lockout(agent):
    user, device = agent
    for _ in range(settings.AXES_FAILURE_LIMIT):
        # the right password with a wrong code is a failed sign-in too
        AuthenticatorDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)
        _admin_login(Client(HTTP_HOST="localhost"), user.email, PASSWORD, "000000")

    AuthenticatorDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)
    locked = _admin_login(Client(HTTP_HOST="localhost"), user.email, PASSWORD, _code(device))
    assert locked.status_code == 429

    _lockout_ends()
    client = Client(HTTP_HOST="localhost")
    assert _admin_login(client, user.email, PASSWORD, _code(device)).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_password_reset_is_limited_per_address(settings, mailoutbox):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "password_reset": "2/hour",
        },
    }
    UserFactory.create(email="reset@example.test")
    statuses = [
        Client(HTTP_HOST="localhost", REMOTE_ADDR=f"10.2.0.{n}")
        .post("/accounts/password-reset/", {"email": "reset@example.test"})
        .status_code
        for n in range(3)
    ]

    assert statuses == [302, 302, 429]
    assert len(mailoutbox) == 2


def _age_session(client: Client, seconds: int) -> None:
    session = client.session
    session[LAST_SEEN_KEY] = int(time.time()) - seconds
    session.save()


@pytest.mark.parametrize(
    ("role", "idle_minutes", "signed_out"),
    [
        (Membership.Role.ADMIN, 29, False),
        (Membership.Role.ADMIN, 31, True),
        (Membership.Role.FRONTDESK, 31, False),
        (Membership.Role.FRONTDESK, 8 * 60 + 1, True),
    ],
)
def test_idle_staff_sessions_end(acme_host, role, idle_minutes, signed_out):
    membership = MembershipFactory.create(role=role)
    client = member_client(membership, acme_host)
    assert client.get("/dashboard/").status_code == 200

    _age_session(client, idle_minutes * 60)
    response = client.get("/dashboard/")

    if signed_out:
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    else:
        assert response.status_code == 200


def test_an_admin_signed_out_for_idleness_passes_the_second_factor_again(acme_host):
    membership = MembershipFactory.create(role=Membership.Role.ADMIN)
    client = member_client(membership, acme_host)
    _age_session(client, 31 * 60)
    client.get("/dashboard/")

    signed_in = client.post(
        "/accounts/login/", {"username": membership.user.email, "password": PASSWORD}
    )
    assert signed_in.status_code == 302
    # the password alone does not reopen the dashboard: the code is asked again
    again = client.get("/dashboard/")
    assert again.status_code == 302
    assert "/accounts/mfa/verify/" in again["Location"]


def test_sign_out_everywhere_ends_every_session(acme_host):
    membership = MembershipFactory.create(role=Membership.Role.MANAGER)
    laptop = member_client(membership, acme_host)
    phone = member_client(membership, acme_host)
    assert phone.get("/dashboard/").status_code == 200

    answer = laptop.post("/accounts/sign-out-everywhere/")

    assert answer.status_code == 302
    for client in (laptop, phone):
        response = client.get("/dashboard/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    # signing in again works
    fresh = Client(HTTP_HOST=acme_host)
    assert _login(fresh, membership.user.email, PASSWORD).status_code == 302
    assert fresh.get("/dashboard/").status_code == 200


def _api_token(client: Client, email: str, password: str, **extra: str):
    return send_json(
        client, "post", "/api/v1/auth/token", {"email": email, "password": password, **extra}
    )


def test_the_staff_token_endpoint_locks_out_like_the_login_page(acme_host, settings):
    settings.REST_FRAMEWORK = generous_rates()  # the per-client rate has its own tests
    membership = MembershipFactory.create(role=Membership.Role.MANAGER)
    email = membership.user.email
    answers = [
        _api_token(Client(HTTP_HOST=acme_host), email, f"guess-{n}").status_code
        for n in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert answers[:-1] == [401] * (settings.AXES_FAILURE_LIMIT - 1)

    locked = _api_token(Client(HTTP_HOST=acme_host), email, PASSWORD)
    assert locked.status_code == 429
    assert error_of(locked)["code"] == "SIGNIN_LOCKED"
    assert "access" not in locked.json()

    _lockout_ends()
    assert _api_token(Client(HTTP_HOST=acme_host), email, PASSWORD).status_code == 200


def test_a_wrong_code_on_the_token_endpoint_counts_towards_the_lockout(acme_host, settings):
    settings.REST_FRAMEWORK = generous_rates()
    membership = MembershipFactory.create(role=Membership.Role.ADMIN)
    device = AuthenticatorDevice.objects.create(user=membership.user, name="phone", confirmed=True)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        AuthenticatorDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)
        _api_token(Client(HTTP_HOST=acme_host), membership.user.email, PASSWORD, otp="000000")

    AuthenticatorDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)
    locked = _api_token(
        Client(HTTP_HOST=acme_host), membership.user.email, PASSWORD, otp=_code(device)
    )
    assert locked.status_code == 429


def test_sign_out_everywhere_revokes_api_refresh_tokens(acme_host, settings):
    settings.REST_FRAMEWORK = generous_rates()
    membership = MembershipFactory.create(role=Membership.Role.MANAGER)
    pair = _api_token(Client(HTTP_HOST=acme_host), membership.user.email, PASSWORD).json()
    browser = member_client(membership, acme_host)

    browser.post("/accounts/sign-out-everywhere/")

    refreshed = send_json(
        Client(HTTP_HOST=acme_host), "post", "/api/v1/auth/refresh", {"refresh": pair["refresh"]}
    )
    assert refreshed.status_code == 401


def test_ipv6_clients_sign_in_and_are_locked_out_by_their_64():
    user = UserFactory.create(email="six@example.test")
    victim = UserFactory.create(email="other@example.test")
    signed_in = _login(
        Client(HTTP_HOST="localhost", REMOTE_ADDR="2001:db8:5:6::1"), user.email, PASSWORD
    )
    assert signed_in.status_code == 302

    # guesses at several accounts from addresses of one /64 lock that /64 out
    for n in range(settings.AXES_FAILURE_LIMIT):
        address = f"2001:db8:7:8::{n + 1}"
        _login(Client(HTTP_HOST="localhost", REMOTE_ADDR=address), f"x{n}@example.test", "guess")
    same_64 = Client(HTTP_HOST="localhost", REMOTE_ADDR="2001:db8:7:8::99")
    assert _login(same_64, victim.email, PASSWORD).status_code == 429
    other_64 = Client(HTTP_HOST="localhost", REMOTE_ADDR="2001:db8:7:9::1")
    assert _login(other_64, victim.email, PASSWORD).status_code == 302


def test_a_session_made_before_idle_limits_gets_one(acme_host):
    membership = MembershipFactory.create(role=Membership.Role.ADMIN)
    client = member_client(membership, acme_host)
    session = client.session
    del session["_idle_limit_s"]
    del session[LAST_SEEN_KEY]
    session.save()

    assert client.get("/dashboard/").status_code == 200  # the limit starts now
    _age_session(client, 31 * 60)
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
