"""Pages: failed messages with Retry (dashboard), the booking-detail partial, the staff
calendar feed, and the admin's resend action."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.utils import timezone
from icalendar import Calendar

from apps.notifications.feeds.services import calendar_feed_create, calendar_feed_revoke
from apps.notifications.links import calendar_feed_url
from apps.notifications.messages.selectors import booking_notification_status
from apps.notifications.messages.services import notifications_plan_confirmed
from apps.notifications.models import CalendarFeed, Notification
from tests.notifications.factories import BookingFactory, ResourceFactory
from tests.plugins.factories import (
    MembershipFactory,
    UserFactory,
    member_client,
    verified_staff_client,
)

pytestmark = pytest.mark.django_db

Status = Notification.Status


def _failed_notification() -> Notification:
    booking = BookingFactory.create(service__name="Root canal")
    notifications_plan_confirmed(booking=booking)
    notification = Notification.objects.get(booking=booking, kind="confirmed")
    Notification.objects.filter(pk=notification.pk).update(
        status=Status.FAILED,
        attempts=5,
        status_reason="attempts_exhausted",
        last_error="ConnectionError: provider down",
    )
    notification.refresh_from_db()
    return notification


@pytest.fixture
def staff_client(acme, acme_host) -> Client:
    return member_client(MembershipFactory.create(tenant=acme), acme_host)


def test_failed_messages_page_lists_failures_with_a_retry_button(staff_client):
    failed = _failed_notification()

    response = staff_client.get("/dashboard/notifications/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "Root canal" in body
    assert "provider down" in body
    assert f"/dashboard/notifications/{failed.pk}/retry/" in body
    # inside the dashboard frame, with its navigation marking this section
    assert 'aria-label="Dashboard"' in body
    assert 'href="/dashboard/notifications/" aria-current="page"' in body


def test_failed_messages_page_is_for_members_only(acme, acme_host, globex_host):
    _failed_notification()
    assert Client(HTTP_HOST=acme_host).get("/dashboard/notifications/").status_code == 302
    outsider = Client(HTTP_HOST=acme_host)
    outsider.force_login(UserFactory.create())
    assert outsider.get("/dashboard/notifications/").status_code == 404


def test_retry_button_queues_the_message_again(staff_client, django_capture_on_commit_callbacks):
    failed = _failed_notification()

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(f"/dashboard/notifications/{failed.pk}/retry/")

    assert response.status_code == 302
    assert response["Location"] == "/dashboard/notifications/"
    failed.refresh_from_db()
    # queued on commit and sent by the (eager) task
    assert failed.status == Status.SENT
    assert failed.attempts == 1


def test_retry_with_htmx_returns_the_updated_row(staff_client):
    failed = _failed_notification()

    response = staff_client.post(
        f"/dashboard/notifications/{failed.pk}/retry/", HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith(f'<tr id="notification-{failed.pk}">')
    failed.refresh_from_db()
    assert failed.status == Status.PENDING


def test_retry_of_a_message_that_is_not_failed_is_refused(staff_client):
    failed = _failed_notification()
    Notification.objects.filter(pk=failed.pk).update(status=Status.SENT, sent_at=timezone.now())

    response = staff_client.post(
        f"/dashboard/notifications/{failed.pk}/retry/", HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 409
    assert "Only a failed notification can be retried." in response.content.decode()


def test_front_desk_resends_a_sent_message_from_the_booking_detail(
    acme, acme_host, django_capture_on_commit_callbacks
):
    # given a confirmation that went out, on a booking front desk is looking at
    sent = _failed_notification()
    Notification.objects.filter(pk=sent.pk).update(
        status=Status.SENT, sent_at=timezone.now(), attempts=1, last_error=""
    )
    desk = member_client(MembershipFactory.create(tenant=acme, role="frontdesk"), acme_host)
    detail = desk.get(f"/dashboard/bookings/{sent.booking_id}/").content.decode()
    assert f"/dashboard/notifications/{sent.pk}/resend/" in detail
    assert ">Resend</button>" in detail

    # when they press Resend (htmx, from the detail's table)
    with django_capture_on_commit_callbacks(execute=True):
        response = desk.post(f"/dashboard/notifications/{sent.pk}/resend/", HTTP_HX_REQUEST="true")

    # then the row comes back in the detail's shape, and the message went out again
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<tr id="notification-{sent.pk}">')
    assert "Root canal" not in body  # the detail's rows do not repeat the booking
    assert "queued to be sent again" in body
    sent.refresh_from_db()
    assert (sent.status, sent.resend_count) == (Status.SENT, 1)


def test_resend_of_a_message_not_yet_sent_is_refused(staff_client):
    pending = _failed_notification()
    Notification.objects.filter(pk=pending.pk).update(status=Status.PENDING)

    response = staff_client.post(f"/dashboard/notifications/{pending.pk}/resend/")

    assert response.status_code == 302
    assert Notification.objects.get(pk=pending.pk).resend_count == 0
    page = staff_client.get(response["Location"]).content.decode()
    assert "Only a sent or failed notification can be resent." in page


def test_booking_status_partial_shows_each_message_and_its_state(acme):
    failed = _failed_notification()
    request = RequestFactory().get("/dashboard/bookings/x/")
    request.user = UserFactory.create()

    html = render_to_string(
        "dashboard/notifications/_booking_status.html",
        {"notification_status": booking_notification_status(booking=failed.booking)},
        request=request,
    )

    assert "1 message could not be sent." in html
    assert html.count("<tr id=") == 3  # confirmation + two reminders
    assert "Retry" in html


def test_calendar_feed_serves_the_resource_bookings_until_revoked(acme, acme_host, globex_host):
    resource = ResourceFactory.create()
    booking = BookingFactory.create(resource=resource)
    feed, token = calendar_feed_create(resource=resource)
    url = calendar_feed_url(token=token, tenant=acme)
    path = url.removeprefix("http://acme.localhost")
    assert path == f"/calendar/feeds/{token}.ics"

    response = Client(HTTP_HOST=acme_host).get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    [event] = Calendar.from_ical(response.content).walk("VEVENT")
    assert str(event["uid"]) == f"{booking.pk}@acme.localhost"

    # the token is no key to another tenant, a wrong token opens nothing
    assert Client(HTTP_HOST=globex_host).get(path).status_code == 404
    assert Client(HTTP_HOST=acme_host).get(path.replace(token[:6], "AAAAAA")).status_code == 404

    calendar_feed_revoke(feed=feed)
    assert Client(HTTP_HOST=acme_host).get(path).status_code == 404


def test_a_manager_creates_and_revokes_a_resources_calendar_feed_in_the_dashboard(acme, acme_host):
    # given a confirmed booking of a resource, and its manager in the dashboard
    booking = BookingFactory.create()
    resource = booking.resource
    manager = member_client(MembershipFactory.create(tenant=acme, role="manager"), acme_host)
    page_url = f"/dashboard/catalogue/resources/{resource.pk}/calendar-feeds/"
    resource_page = manager.get(f"/dashboard/catalogue/resources/{resource.pk}/").content.decode()
    assert f'href="{page_url}"' in resource_page

    # when they create a calendar address, it is shown once and serves the bookings
    created = manager.post(page_url)
    body = created.content.decode()
    assert created.status_code == 201
    url = re.search(r'value="(http://acme\.localhost/calendar/feeds/[^"]+\.ics)"', body)[1]
    path = url.removeprefix("http://acme.localhost")
    feed = Calendar.from_ical(Client(HTTP_HOST=acme_host).get(path).content)
    assert [str(e["uid"]) for e in feed.walk("VEVENT")] == [f"{booking.pk}@acme.localhost"]
    assert url not in manager.get(page_url).content.decode()  # only its hint remains

    # and revoking it stops the address at once
    [row] = CalendarFeed.objects.filter(resource=resource)
    revoked = manager.post(f"{page_url}{row.pk}/revoke/")
    assert revoked.status_code == 302
    assert Client(HTTP_HOST=acme_host).get(path).status_code == 404
    assert f"…{row.token_hint}" in manager.get(page_url).content.decode()


def test_admin_resend_action_queues_sent_and_failed_messages(acme, acme_host):
    failed = _failed_notification()
    sent = Notification.objects.get(booking=failed.booking, offset_minutes=60)
    Notification.objects.filter(pk=sent.pk).update(
        status=Status.SENT, sent_at=timezone.now() - timedelta(minutes=5)
    )
    client = verified_staff_client(acme_host)

    response = client.post(
        "/admin/notifications/notification/",
        {"action": "resend_selected", "_selected_action": [str(failed.pk), str(sent.pk)]},
    )

    assert response.status_code == 302
    failed.refresh_from_db()
    sent.refresh_from_db()
    assert failed.status == Status.PENDING
    assert (sent.status, sent.resend_count) == (Status.PENDING, 1)
