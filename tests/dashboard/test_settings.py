"""The settings screen under htmx: errors come back as the screen's partial with what was
typed, a save navigates to the saved page. (Full-page behaviour and the policy fields
are covered in tests/accounts/test_dashboard_team_settings.py.)"""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.models import Tenant

pytestmark = pytest.mark.django_db


def _settings(tenant: Tenant, **overrides: object) -> dict[str, object]:
    return {
        "name": tenant.name,
        "timezone": tenant.timezone,
        "exposure_mode": "curated",
        "hold_ttl_minutes": "15",
        "cancellation_window_minutes": "120",
        "min_notice_minutes": "30",
        "horizon_days": "60",
        "reminder_offsets": "24h, 2h",
        "accent_color": "#0f766e",
        "logo_url": "https://cdn.example.test/logo.png",
        **overrides,
    }


def test_settings_screen_offers_every_policy_and_branding_field(admin_client_acme):
    body = admin_client_acme.get(reverse("dashboard:settings")).content.decode()

    for field in _settings(Tenant(name="x", timezone="UTC")):
        assert f'name="{field}"' in body


def test_an_htmx_save_navigates_to_the_saved_settings(admin_client_acme, acme):
    response = admin_client_acme.post(
        reverse("dashboard:settings"), _settings(acme), HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("dashboard:settings")
    acme.refresh_from_db()
    assert (acme.exposure_mode, acme.hold_ttl_minutes, acme.horizon_days) == ("curated", 15, 60)
    assert acme.reminder_offsets_minutes == [1440, 120]
    assert (acme.accent_color, acme.logo_url) == ("#0f766e", "https://cdn.example.test/logo.png")


def test_an_htmx_save_with_errors_returns_the_partial_with_the_typed_values(
    admin_client_acme, acme
):
    response = admin_client_acme.post(
        reverse("dashboard:settings"),
        _settings(acme, hold_ttl_minutes="600", reminder_offsets="soon, 1h"),
        HTTP_HX_REQUEST="true",
    )

    body = response.content.decode()
    assert response.status_code == 400
    assert "<html" not in body
    assert "Ensure this value is less than or equal to 60." in body
    assert "“soon” is not a duration." in body
    assert 'value="soon, 1h"' in body and 'value="600"' in body


def test_message_preferences_are_saved_from_the_settings_screen(admin_client_acme, acme):
    from apps.notifications.selectors import notification_preference_get

    # given the defaults: no hold-expired emails, no text messages
    page = admin_client_acme.get(reverse("dashboard:settings")).content.decode()
    assert 'name="notify_hold_expired"' in page
    assert 'name="sms_enabled"' in page
    assert not notification_preference_get().notify_hold_expired

    # when an admin ticks both (a checkbox is only sent when ticked)
    on = _settings(acme, notify_hold_expired="on", sms_enabled="on")
    saved = admin_client_acme.post(reverse("dashboard:settings"), on)

    # then both are on, and the screen shows them ticked
    preference = notification_preference_get()
    assert saved.status_code == 302
    assert (preference.notify_hold_expired, preference.sms_enabled) == (True, True)
    page = admin_client_acme.get(reverse("dashboard:settings")).content.decode()
    assert 'name="sms_enabled" id="id_sms_enabled" checked' in page

    # and unticking turns them off again
    admin_client_acme.post(reverse("dashboard:settings"), _settings(acme))
    preference = notification_preference_get()
    assert (preference.notify_hold_expired, preference.sms_enabled) == (False, False)
