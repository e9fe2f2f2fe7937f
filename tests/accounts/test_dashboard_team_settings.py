from __future__ import annotations

import pytest

from apps.accounts.models import Membership, Tenant, User
from apps.accounts.signals import tenant_settings_changed
from tests.plugins.factories import MembershipFactory, UserFactory, member_client

pytestmark = pytest.mark.django_db
HOST = "acme.localhost"


@pytest.fixture
def admin(acme):
    return MembershipFactory(tenant=acme, role=Membership.Role.ADMIN)


@pytest.mark.parametrize("path", ["/dashboard/team/", "/dashboard/settings/"])
@pytest.mark.parametrize("role", ["frontdesk", "scheduler", "manager"])
def test_team_and_settings_are_for_admins_only(acme, path, role):
    client = member_client(MembershipFactory(tenant=acme, role=role), HOST)

    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", ["/dashboard/team/", "/dashboard/settings/"])
def test_team_and_settings_of_another_tenant_are_404(globex, path):
    client = member_client(MembershipFactory(tenant=globex, role="admin"), HOST)

    assert client.get(path).status_code == 404


def test_team_page_full_and_htmx_partial(admin):
    client = member_client(admin, HOST)

    full = client.get("/dashboard/team/")
    partial = client.get("/dashboard/team/", HTTP_HX_REQUEST="true")

    assert full.status_code == 200
    assert "<html" in full.content.decode()
    assert admin.user.email in full.content.decode()
    assert partial.status_code == 200
    assert "<html" not in partial.content.decode()
    assert admin.user.email in partial.content.decode()


def test_invite_new_person_creates_membership_and_emails_a_password_link(
    admin, mailoutbox, django_capture_on_commit_callbacks
):
    client = member_client(admin, HOST)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/dashboard/team/", {"email": "New.Hire@acme.test", "role": "scheduler"}
        )

    assert response.status_code == 302
    membership = Membership.objects.get(tenant=admin.tenant, user__email="new.hire@acme.test")
    assert membership.role == "scheduler"
    assert not membership.user.has_usable_password()
    assert len(mailoutbox) == 1
    assert f"http://{HOST}/accounts/reset/" in mailoutbox[0].body
    assert "Acme Clinic" in mailoutbox[0].subject


def test_the_invitation_speaks_the_business_language_not_the_inviters(
    admin, acme, mailoutbox, django_capture_on_commit_callbacks
):
    # given a German business whose admin reads the dashboard in French
    Tenant.objects.filter(pk=acme.pk).update(locale="de")
    User.objects.filter(pk=admin.user.pk).update(language="fr")
    # and someone with an account who chose Spanish
    spanish = UserFactory(email="es@acme.test", language="es")
    client = member_client(admin, HOST)

    # when the admin invites a new person, then that Spanish speaker
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/dashboard/team/", {"email": "neu@acme.test", "role": "scheduler"})
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/dashboard/team/", {"email": spanish.email, "role": "scheduler"})

    # then the new person is written to in German, the other in Spanish
    assert len(mailoutbox) == 2
    assert "eingeladen" in mailoutbox[0].subject
    assert "Passwort" in mailoutbox[0].body
    assert "TimeNest" in mailoutbox[1].subject and "invitado" in mailoutbox[1].subject


def test_invite_existing_member_is_a_field_error_keeping_the_input(admin):
    client = member_client(admin, HOST)

    response = client.post(
        "/dashboard/team/",
        {"email": admin.user.email, "role": "frontdesk"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 400
    body = response.content.decode()
    assert "is already on the team" in body
    assert f'value="{admin.user.email}"' in body


def test_change_role_and_remove(admin):
    other = MembershipFactory(tenant=admin.tenant, role="frontdesk")
    client = member_client(admin, HOST)

    client.post(f"/dashboard/team/{other.pk}/role/", {"role": "manager"})
    other.refresh_from_db()
    assert other.role == "manager"

    client.post(f"/dashboard/team/{other.pk}/remove/")
    assert not Membership.objects.filter(pk=other.pk).exists()
    assert User.objects.filter(pk=other.user_id).exists()  # the person keeps their account


def test_the_last_admin_cannot_be_demoted_or_removed(acme):
    # given acme's only admins are the owner and this admin; remove the owner's
    Membership.objects.filter(tenant=acme, role="admin").delete()
    only_admin = MembershipFactory(tenant=acme, role="admin")
    client = member_client(only_admin, HOST)

    demote = client.post(
        f"/dashboard/team/{only_admin.pk}/role/", {"role": "frontdesk"}, HTTP_HX_REQUEST="true"
    )
    remove = client.post(f"/dashboard/team/{only_admin.pk}/remove/", HTTP_HX_REQUEST="true")

    only_admin.refresh_from_db()
    assert demote.status_code == 400
    assert "only admin" in demote.content.decode()
    assert remove.status_code == 400
    assert only_admin.role == "admin"


def test_membership_of_another_tenant_cannot_be_changed(admin, globex):
    foreign = MembershipFactory(tenant=globex, role="frontdesk")
    client = member_client(admin, HOST)

    response = client.post(f"/dashboard/team/{foreign.pk}/role/", {"role": "admin"})

    foreign.refresh_from_db()
    assert response.status_code == 404
    assert foreign.role == "frontdesk"


def _settings_form(tenant: Tenant, **overrides: str) -> dict[str, str]:
    data = {
        "name": tenant.name,
        "timezone": tenant.timezone,
        "exposure_mode": "curated",
        "hold_ttl_minutes": "15",
        "cancellation_window_minutes": "120",
        "min_notice_minutes": "30",
        "horizon_days": "60",
        "reminder_offsets": "2d, 3h, 30m",
        "accent_color": "#0f766e",
        "logo_url": "",
    }
    data.update(overrides)
    return data


def test_settings_save_policy_and_announce_the_change(admin):
    seen: list[set[str]] = []

    def listener(sender, tenant, changed, **kwargs):
        seen.append(changed)

    tenant_settings_changed.connect(listener)
    try:
        response = member_client(admin, HOST).post(
            "/dashboard/settings/", _settings_form(admin.tenant)
        )
    finally:
        tenant_settings_changed.disconnect(listener)

    tenant = Tenant.objects.get(pk=admin.tenant.pk)
    assert response.status_code == 302
    assert tenant.exposure_mode == "curated"
    assert tenant.hold_ttl_minutes == 15
    assert tenant.reminder_offsets_minutes == [2880, 180, 30]
    assert tenant.accent_color == "#0f766e"
    assert seen
    assert "reminder_offsets_minutes" in seen[0]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"reminder_offsets": "tomorrow"}, "is not a duration"),
        ({"reminder_offsets": "1m"}, "between 5 minutes and 30 days"),
        ({"accent_color": "blue"}, "Use a colour like"),
        ({"hold_ttl_minutes": "0"}, "greater than or equal to 1"),
        ({"horizon_days": "999"}, "less than or equal to 365"),
    ],
)
def test_settings_errors_keep_what_was_typed(admin, overrides, message):
    data = _settings_form(admin.tenant, **overrides)

    response = member_client(admin, HOST).post("/dashboard/settings/", data)

    body = response.content.decode()
    assert response.status_code == 400
    assert message in body
    typed = next(iter(overrides.values()))
    assert f'value="{typed}"' in body
    assert Tenant.objects.get(pk=admin.tenant.pk).hold_ttl_minutes == 10


def test_dashboard_nav_shows_only_sections_of_the_role(acme):
    frontdesk = member_client(MembershipFactory(tenant=acme, role="frontdesk"), HOST)
    admin = member_client(MembershipFactory(tenant=acme, role="admin", user=UserFactory()), HOST)

    assert "/dashboard/team/" not in frontdesk.get("/dashboard/").content.decode()
    assert "/dashboard/team/" in admin.get("/dashboard/").content.decode()
