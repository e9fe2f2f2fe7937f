"""The dashboard's "API & webhooks" screen (admins only): API keys (create with the key
shown once, revoke), webhook endpoints (create with the secret shown once, edit, disable,
enable, rotate the secret, send a test event, delete) and each endpoint's delivery log
with the attempts of a delivery and a Replay button.

Each view answers a whole page, or under htmx the partial it swaps; every link and form
also works without JavaScript. Answers that show a secret are never cached and are not
redirects (the secret would have to be stored to survive one).
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from apps.accounts.models import Membership, User
from apps.api.selectors import api_key_get, api_key_list
from apps.api.services import api_key_create, api_key_revoke
from apps.core.errors import DomainError, ValidationFailed
from apps.core.htmx import render_page_or_partial, wants_partial
from apps.dashboard.access import membership_required
from apps.dashboard.integrations.forms import ApiKeyForm, DeliveryFilterForm, WebhookEndpointForm
from apps.notifications.webhooks.models import WebhookEndpoint
from apps.notifications.webhooks.selectors import (
    webhook_delivery_attempts,
    webhook_delivery_get,
    webhook_delivery_list,
    webhook_endpoint_get,
    webhook_endpoint_list,
    webhook_event_payload,
)
from apps.notifications.webhooks.services import (
    webhook_delivery_replay,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_ping,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_update,
)
from apps.notifications.webhooks.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
)

ADMIN = Membership.Role.ADMIN
DELIVERIES_PER_PAGE = 25
KEYS_SHOWN = 200


def _htmx_target(request: HttpRequest) -> str:
    htmx = getattr(request, "htmx", None)
    return str(htmx.target or "") if htmx else ""


def _user(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    return user


# --- The screen ---------------------------------------------------------------------


def _page_context(
    *,
    key_form: ApiKeyForm | None = None,
    endpoint_form: WebhookEndpointForm | None = None,
    new_key: dict[str, Any] | None = None,
    new_endpoint: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "api_keys": list(api_key_list(include_revoked=True)[:KEYS_SHOWN]),
        "key_form": key_form or ApiKeyForm(),
        "new_key": new_key,
        "endpoints": list(webhook_endpoint_list()),
        "endpoint_form": endpoint_form or WebhookEndpointForm(),
        "new_endpoint": new_endpoint,
        "signature_header": SIGNATURE_HEADER,
        "timestamp_header": TIMESTAMP_HEADER,
    }


def _screen(
    request: HttpRequest, *, partial: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    return render_page_or_partial(
        request,
        page="dashboard/integrations/page.html",
        partial=partial,
        context=context,
        status=status,
    )


@require_GET
@membership_required(ADMIN, factor_before_live=True)
def integrations(request: HttpRequest) -> HttpResponse:
    return _screen(request, partial="dashboard/integrations/_page.html", context=_page_context())


# --- API keys -----------------------------------------------------------------------


@never_cache
@require_POST
@membership_required(ADMIN, factor_before_live=True)
def api_key_create_view(request: HttpRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST)
    new_key = None
    if form.is_valid():
        try:
            key, secret = api_key_create(
                role=form.cleaned_data["role"],
                name=form.cleaned_data["name"],
                created_by=_user(request),
            )
        except ValidationFailed as error:
            form.apply_domain_error(error)
        else:
            new_key = {"key": key, "secret": secret}
            form = ApiKeyForm()
    context = _page_context(key_form=form, new_key=new_key)
    status = 400 if form.errors else 200
    return _screen(
        request, partial="dashboard/integrations/_api_keys.html", context=context, status=status
    )


@require_POST
@membership_required(ADMIN, factor_before_live=True)
def api_key_revoke_view(request: HttpRequest, key_id: UUID) -> HttpResponse:
    key = api_key_get(key_id=key_id)
    api_key_revoke(api_key=key)
    messages.success(request, f"The key {key.prefix}… is revoked; it no longer works.")
    if wants_partial(request):
        return render(request, "dashboard/integrations/_api_keys.html", _page_context())
    return redirect("dashboard:integrations")


# --- Webhook endpoints --------------------------------------------------------------


def _endpoint_url(endpoint: WebhookEndpoint) -> str:
    return reverse("dashboard:integrations_endpoint", kwargs={"endpoint_id": endpoint.pk})


@never_cache
@require_POST
@membership_required(ADMIN, factor_before_live=True)
def endpoint_create_view(request: HttpRequest) -> HttpResponse:
    form = WebhookEndpointForm(request.POST)
    new_endpoint = None
    if form.is_valid():
        try:
            endpoint, secret = webhook_endpoint_create(
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                description=form.cleaned_data["description"],
                created_by=_user(request),
            )
        except ValidationFailed as error:
            form.apply_domain_error(error)
        except DomainError as error:  # the endpoint limit
            form.add_error(None, error.message)
        else:
            new_endpoint = {"endpoint": endpoint, "secret": secret}
            form = WebhookEndpointForm()
    context = _page_context(endpoint_form=form, new_endpoint=new_endpoint)
    status = 400 if form.errors else 200
    return _screen(
        request, partial="dashboard/integrations/_endpoints.html", context=context, status=status
    )


def _endpoint_context(
    request: HttpRequest, endpoint: WebhookEndpoint, *, new_secret: str | None = None
) -> dict[str, Any]:
    filters = DeliveryFilterForm(request.GET or None)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    deliveries = webhook_delivery_list(
        endpoint_id=endpoint.pk,
        status=chosen.get("status") or None,
        event_type=chosen.get("event_type") or None,
    )
    page = Paginator(deliveries, DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return {
        "endpoint": endpoint,
        "filters": filters,
        "page": page,
        "deliveries": list(page.object_list),
        "filter_query": query.urlencode(),
        "new_secret": new_secret,
        "signature_header": SIGNATURE_HEADER,
        "timestamp_header": TIMESTAMP_HEADER,
    }


def _endpoint_screen(
    request: HttpRequest,
    endpoint: WebhookEndpoint,
    *,
    new_secret: str | None = None,
    status: int = 200,
) -> HttpResponse:
    context = _endpoint_context(request, endpoint, new_secret=new_secret)
    if not wants_partial(request):
        template = "dashboard/integrations/endpoint.html"
    elif _htmx_target(request) == "deliveries":
        template = "dashboard/integrations/_deliveries.html"
    else:
        template = "dashboard/integrations/_endpoint.html"
    return render(request, template, context, status=status)


@require_GET
@membership_required(ADMIN, factor_before_live=True)
def endpoint_detail(request: HttpRequest, endpoint_id: UUID) -> HttpResponse:
    return _endpoint_screen(request, webhook_endpoint_get(endpoint_id=endpoint_id))


@require_http_methods(["GET", "POST"])
@membership_required(ADMIN, factor_before_live=True)
def endpoint_edit(request: HttpRequest, endpoint_id: UUID) -> HttpResponse:
    endpoint = webhook_endpoint_get(endpoint_id=endpoint_id)
    if request.method == "POST":
        form = WebhookEndpointForm(request.POST)
        if form.is_valid():
            try:
                webhook_endpoint_update(
                    endpoint=endpoint,
                    url=form.cleaned_data["url"],
                    events=form.cleaned_data["events"],
                    description=form.cleaned_data["description"],
                )
            except ValidationFailed as error:
                form.apply_domain_error(error)
            else:
                messages.success(request, gettext("The endpoint is saved."))
                if wants_partial(request):
                    return HttpResponseClientRedirect(_endpoint_url(endpoint))
                return redirect(_endpoint_url(endpoint))
        status = 400
    else:
        form = WebhookEndpointForm(
            initial={
                "url": endpoint.url,
                "description": endpoint.description,
                "events": endpoint.events,
            }
        )
        status = 200
    context = {"endpoint": endpoint, "form": form}
    return render_page_or_partial(
        request,
        page="dashboard/integrations/edit.html",
        partial="dashboard/integrations/_endpoint_form.html",
        context=context,
        status=status,
    )


def _after_endpoint_action(
    request: HttpRequest, endpoint: WebhookEndpoint, message: str
) -> HttpResponse:
    messages.success(request, message)
    if wants_partial(request):
        endpoint.refresh_from_db()
        return _endpoint_screen(request, endpoint)
    return redirect(_endpoint_url(endpoint))


@require_POST
@membership_required(ADMIN, factor_before_live=True)
def endpoint_disable(request: HttpRequest, endpoint_id: UUID) -> HttpResponse:
    endpoint = webhook_endpoint_update(
        endpoint=webhook_endpoint_get(endpoint_id=endpoint_id), active=False
    )
    return _after_endpoint_action(
        request, endpoint, "The endpoint is disabled; queued events to it are cancelled."
    )


@require_POST
@membership_required(ADMIN, factor_before_live=True)
def endpoint_enable(request: HttpRequest, endpoint_id: UUID) -> HttpResponse:
    endpoint = webhook_endpoint_update(
        endpoint=webhook_endpoint_get(endpoint_id=endpoint_id), active=True
    )
    return _after_endpoint_action(
        request, endpoint, "The endpoint is enabled. Replay the events it missed below."
    )


@require_POST
@membership_required(ADMIN, factor_before_live=True)
def endpoint_ping(request: HttpRequest, endpoint_id: UUID) -> HttpResponse:
    endpoint = webhook_endpoint_get(endpoint_id=endpoint_id)
    webhook_endpoint_ping(endpoint=endpoint)
    return _after_endpoint_action(
        request, endpoint, "A test event is on its way; its result appears in the log below."
    )


@never_cache
@require_POST
@membership_required(ADMIN, factor_before_live=True)
def endpoint_rotate_secret(request: HttpRequest, endpoint_id: UUID) -> HttpResponse:
    endpoint, secret = webhook_endpoint_rotate_secret(
        endpoint=webhook_endpoint_get(endpoint_id=endpoint_id)
    )
    return _endpoint_screen(request, endpoint, new_secret=secret)


@require_POST
@membership_required(ADMIN, factor_before_live=True)
def endpoint_delete(request: HttpRequest, endpoint_id: UUID) -> HttpResponse:
    endpoint = webhook_endpoint_get(endpoint_id=endpoint_id)
    webhook_endpoint_delete(endpoint=endpoint)
    messages.success(request, f"The endpoint {endpoint.url} is deleted.")
    if wants_partial(request):
        return HttpResponseClientRedirect(reverse("dashboard:integrations"))
    return redirect("dashboard:integrations")


# --- Deliveries ---------------------------------------------------------------------


@require_GET
@membership_required(ADMIN, factor_before_live=True)
def delivery_detail(request: HttpRequest, delivery_id: UUID) -> HttpResponse:
    delivery = webhook_delivery_get(delivery_id=delivery_id)
    context = {
        "delivery": delivery,
        "endpoint": delivery.endpoint,
        "attempts": webhook_delivery_attempts(delivery=delivery),
        "payload": json.dumps(
            webhook_event_payload(event=delivery.event), indent=2, ensure_ascii=False
        ),
    }
    return render_page_or_partial(
        request,
        page="dashboard/integrations/delivery.html",
        partial="dashboard/integrations/_delivery.html",
        context=context,
    )


def _next_url(request: HttpRequest, fallback: str) -> str:
    candidate = request.POST.get("next", "")
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback


@require_POST
@membership_required(ADMIN, factor_before_live=True)
def delivery_replay(request: HttpRequest, delivery_id: UUID) -> HttpResponse:
    delivery = webhook_delivery_get(delivery_id=delivery_id)
    error = ""
    try:
        delivery = webhook_delivery_replay(delivery_id=delivery.pk)
    except DomainError as exc:
        error = exc.message
    if wants_partial(request):
        delivery = webhook_delivery_get(delivery_id=delivery.pk)
        return render(
            request,
            "dashboard/integrations/_delivery_row.html",
            {"delivery": delivery, "row_error": error},
            status=409 if error else 200,
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, gettext("The event is queued to be sent again."))
    return redirect(_next_url(request, _endpoint_url(delivery.endpoint)))
