"""Pages of the support console in the platform admin. Each is served by the admin site
(apps/support/admin.py registers them), so it is behind the staff sign-in, the second
factor and the support-access trail; each checks the agent's permission on businesses."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, cast

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.accounts.admin_sites import support_access_note
from apps.accounts.models import Tenant, User
from apps.billing.services import tenant_reactivate, tenant_suspend
from apps.core.errors import DomainError, NotFound
from apps.support.forms import LookupForm, OverviewFilterForm, ReasonForm
from apps.support.selectors import (
    TENANTS_PER_PAGE,
    booking_lookup,
    customer_lookup,
    lookup_query_hash,
    lookup_query_masked,
    tenant_detail,
    tenant_for_support,
    tenant_rows,
    tenants_search,
)

VIEW = "accounts.view_tenant"
CHANGE = "accounts.change_tenant"


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _page(request: HttpRequest, template: str, status: int = 200, **context: Any) -> HttpResponse:
    return TemplateResponse(
        request,
        f"admin/support/{template}",
        {**admin.site.each_context(request), **context},
        status=status,
    )


def overview(request: HttpRequest) -> HttpResponse | None:
    """The platform admin's front page: the businesses, 25 a page, with their plan,
    standing, usage against the plan and the last days' activity. Staff who may not see
    businesses get the usual list of records (None)."""
    if not request.user.has_perm(VIEW):
        return None
    form = OverviewFilterForm(request.GET)
    chosen = form.cleaned_data if form.is_valid() else {}
    tenants = tenants_search(
        query=chosen.get("q", ""), status=chosen.get("status", ""), plan=chosen.get("plan", "")
    )
    page = Paginator(tenants, TENANTS_PER_PAGE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return _page(
        request,
        "overview.html",
        title=_("Businesses"),
        form=form,
        page=page,
        rows=tenant_rows(page.object_list),
        query=params.urlencode(),
        app_list=admin.site.get_app_list(request),
    )


def _tenant_or_404(tenant_id: uuid.UUID) -> Tenant:
    try:
        return tenant_for_support(tenant_id=tenant_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def tenant_page(
    request: HttpRequest,
    tenant_id: uuid.UUID,
    *,
    suspend_form: ReasonForm | None = None,
    reactivate_form: ReasonForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """One business: the overview's figures in full, its last bookings, the last support
    accesses to its admin, its plan history, and what support can do."""
    _require(request, VIEW)
    tenant = _tenant_or_404(tenant_id)
    return _page(
        request,
        "tenant.html",
        status=status,
        title=tenant.name,
        detail=tenant_detail(tenant=tenant),
        tenant_record=tenant,
        can_change=request.user.has_perm(CHANGE),
        suspend_form=suspend_form or ReasonForm(prefix="suspend"),
        reactivate_form=reactivate_form or ReasonForm(prefix="reactivate"),
    )


def _standing_change(
    request: HttpRequest,
    tenant_id: uuid.UUID,
    *,
    prefix: str,
    service: Callable[..., Tenant],
    done: Callable[[Tenant], str],
) -> HttpResponse:
    _require(request, CHANGE)
    tenant = _tenant_or_404(tenant_id)
    form = ReasonForm(request.POST, prefix=prefix)
    if form.is_valid():
        reason = form.cleaned_data["reason"]
        support_access_note(
            request, reason=reason, details={"action": f"tenant.{prefix}", "tenant": tenant.slug}
        )
        try:
            changed = service(tenant=tenant, reason=reason, agent=cast(User, request.user))
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, done(changed))
            return HttpResponseRedirect(reverse("admin:support_tenant", args=[tenant.pk]))
    return tenant_page(request, tenant_id, status=400, **{f"{prefix}_form": form})


@require_POST
def tenant_suspend_page(request: HttpRequest, tenant_id: uuid.UUID) -> HttpResponse:
    return _standing_change(
        request, tenant_id, prefix="suspend", service=tenant_suspend, done=suspended_message
    )


@require_POST
def tenant_reactivate_page(request: HttpRequest, tenant_id: uuid.UUID) -> HttpResponse:
    return _standing_change(
        request, tenant_id, prefix="reactivate", service=tenant_reactivate, done=reactivated_message
    )


def suspended_message(tenant: Tenant) -> str:
    return _(
        "%(name)s is suspended: its booking pages and API take no bookings until support "
        "reactivates it."
    ) % {"name": tenant.name}


def reactivated_message(tenant: Tenant) -> str:
    if tenant.status == Tenant.Status.SUSPENDED:
        return _(
            "Support's suspension of %(name)s is lifted, but it stays suspended for an unpaid "
            "balance until it pays."
        ) % {"name": tenant.name}
    return _("%(name)s is reactivated; its standing is now: %(status)s.") % {
        "name": tenant.name,
        "status": tenant.get_status_display(),
    }


def lookup(request: HttpRequest) -> HttpResponse:
    """A booking by id or a customer by exact email, in every business. Each look-up
    takes a typed reason and is kept in the platform's support-access trail with what
    was asked, an address only as its lookup hash and masked."""
    _require(request, VIEW)
    # The trail keeps the bare path: a query string here could carry an address.
    support_access_note(request, path=request.path)
    if request.method != "POST":
        return _page(request, "lookup.html", title=_("Look up"), form=LookupForm(), matches=None)
    form = LookupForm(request.POST)
    if not form.is_valid():
        return _page(
            request, "lookup.html", status=400, title=_("Look up"), form=form, matches=None
        )
    cleaned = form.cleaned_data
    details: dict[str, Any]
    if "email" in cleaned:
        details = {
            "lookup": "customer_email",
            "query_hash": lookup_query_hash(cleaned["email"]),
            "query_masked": lookup_query_masked(cleaned["email"]),
        }
    else:
        details = {"lookup": "booking_id", "query": str(cleaned["booking_id"])}
    # Noted before the look-up runs; what it found is added below.
    support_access_note(request, reason=cleaned["reason"], details=details, path=request.path)
    if "email" in cleaned:
        matches = customer_lookup(email=cleaned["email"])
    else:
        matches = booking_lookup(booking_id=cleaned["booking_id"])
    details["found"] = [
        {"tenant": match.tenant.slug, "kind": match.kind, "id": str(match.object_id)}
        for match in matches
    ]
    return _page(
        request,
        "lookup.html",
        title=_("Look up"),
        form=LookupForm(initial={"reason": cleaned["reason"]}),
        matches=matches,
        asked=details["lookup"],
    )
