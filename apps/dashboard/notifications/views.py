"""Pages of the notifications capability: failed messages with a Retry button (dashboard)
and a resource's secret calendar feed."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.addresses import tenant_domain
from apps.accounts.models import Membership
from apps.accounts.selectors import tenant_current
from apps.core.htmx import render_page_or_partial
from apps.dashboard.access import membership_required
from apps.notifications.feeds.errors import CalendarFeedNotFound
from apps.notifications.feeds.ics import resource_feed_ics
from apps.notifications.feeds.selectors import calendar_feed_by_token, resource_feed_bookings
from apps.notifications.feeds.services import calendar_feed_create, calendar_feed_revoke
from apps.notifications.links import calendar_feed_url
from apps.notifications.messages.errors import NotificationNotFound, NotificationNotRetryable
from apps.notifications.messages.selectors import notification_get, notifications_failed
from apps.notifications.messages.services import notification_resend, notification_retry
from apps.notifications.models import CalendarFeed, Notification
from apps.resources.models import Resource


@require_GET
@membership_required()
def notifications_failed_page(request: HttpRequest) -> HttpResponse:
    failed = list(notifications_failed(limit=200))
    return render(request, "dashboard/notifications/failed_list.html", {"notifications": failed})


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next", "")
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("notifications:failed")


def _row_action(
    request: HttpRequest,
    notification_id: UUID,
    action: Callable[..., Notification],
    done: str,
) -> HttpResponse:
    """Retry or resend one message; with htmx the row is swapped in place (in the shape
    of the table it sits in), without it the page that asked is shown again."""
    error = ""
    try:
        notification = action(notification_id=notification_id)
    except NotificationNotFound as exc:
        raise Http404("No such notification.") from exc
    except NotificationNotRetryable as exc:
        error = exc.message
        notification = notification_get(notification_id=notification_id)
    if getattr(request, "htmx", False):
        return render(
            request,
            "dashboard/notifications/_notification_row.html",
            {
                "notification": notification,
                "row_error": error,
                "row_done": "" if error else done,
                "show_booking": request.POST.get("show_booking") == "1",
            },
            status=409 if error else 200,
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, done)
    return redirect(_next_url(request))


@require_POST
@membership_required()
def notification_retry_view(request: HttpRequest, notification_id: UUID) -> HttpResponse:
    return _row_action(
        request, notification_id, notification_retry, "The message is queued to be sent again."
    )


@require_POST
@membership_required()
def notification_resend_view(request: HttpRequest, notification_id: UUID) -> HttpResponse:
    """Sends a message that went out once more (the customer lost it), as a new one."""
    return _row_action(
        request, notification_id, notification_resend, "The message is queued to be sent again."
    )


@require_GET
def resource_calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    try:
        feed = calendar_feed_by_token(token=token)
    except CalendarFeedNotFound as exc:
        raise Http404("No such calendar.") from exc
    tenant = tenant_current()
    body = resource_feed_ics(
        resource=feed.resource,
        bookings=resource_feed_bookings(resource=feed.resource),
        domain=tenant_domain(tenant),
        business_name=tenant.name,
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="calendar.ics"'
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response


# --- Staff calendar feeds, managed from the resource's page -------------------------


@require_http_methods(["GET", "POST"])
@membership_required(Membership.Role.MANAGER, factor_before_live=True)
def calendar_feeds_page(request: HttpRequest, resource_id: UUID) -> HttpResponse:
    """A resource's secret calendar URLs: a new one is shown once (only its hash is
    kept), and each can be revoked when a phone is lost or a person leaves."""
    resource = Resource.objects.filter(pk=resource_id).first()
    if resource is None:
        raise Http404("No such resource.")
    new_url = ""
    if request.method == "POST":
        _feed, token = calendar_feed_create(resource=resource, created_by_id=str(request.user.pk))
        new_url = calendar_feed_url(token=token, tenant=tenant_current())
    feeds = list(CalendarFeed.objects.filter(resource=resource).order_by("-created_at"))
    return render_page_or_partial(
        request,
        page="dashboard/notifications/calendar_feeds.html",
        partial="dashboard/notifications/_calendar_feeds.html",
        context={"resource": resource, "feeds": feeds, "new_url": new_url},
        status=201 if new_url else 200,
    )


@require_POST
@membership_required(Membership.Role.MANAGER, factor_before_live=True)
def calendar_feed_revoke_view(
    request: HttpRequest, resource_id: UUID, feed_id: UUID
) -> HttpResponse:
    feed = CalendarFeed.objects.filter(pk=feed_id, resource_id=resource_id).first()
    if feed is None:
        raise Http404("No such calendar feed.")
    calendar_feed_revoke(feed=feed)
    messages.success(request, f"The calendar URL ending …{feed.token_hint} no longer works.")
    return redirect(reverse("dashboard:calendar_feeds", kwargs={"resource_id": resource_id}))
