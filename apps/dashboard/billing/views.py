"""The business's plan: what it is, what the business uses of it, changing it, and the
plan's history (admins only)."""

from __future__ import annotations

import contextlib
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.models import Membership, Tenant
from apps.accounts.selectors import tenant_current
from apps.billing.connect import account_connect_start, account_refresh, stripe_account_of
from apps.billing.models import PlanChange, StripeAccount
from apps.billing.plans import FREE, PLANS, plan_named
from apps.billing.services import plan_free_choose, plan_usage, plans_offered, suspends_on
from apps.billing.stripe_api import PaymentRefused, PaymentsUnavailable
from apps.billing.subscriptions import invoices_of, plan_pay, portal_url, subscription_live
from apps.core.errors import DomainError, ValidationFailed
from apps.core.htmx import redirect_after_post, render_page_or_partial
from apps.dashboard.access import membership_required

ADMIN = Membership.Role.ADMIN
PLANS_PAID = {code for code, plan in PLANS.items() if plan.is_paid}


def _standing(tenant: Tenant) -> dict[str, Any]:
    return {
        "plan": plan_named(tenant.plan),
        "on_trial": tenant.status == Tenant.Status.TRIAL,
        "trial_ends_at": tenant.trial_ends_at,
        "past_due": tenant.status == Tenant.Status.PAST_DUE,
        "suspended": tenant.status == Tenant.Status.SUSPENDED,
        "suspends_on": suspends_on(tenant),
    }


def _account_fresh(tenant: Tenant, *, refresh: bool) -> StripeAccount | None:
    """The business's Stripe account; asked of Stripe again when the admin comes back
    from its onboarding (webhooks keep it current otherwise)."""
    account = stripe_account_of(tenant)
    if account is not None and refresh:
        # Stripe out of reach: shown as last known.
        with contextlib.suppress(PaymentsUnavailable, PaymentRefused):
            account = account_refresh(tenant) or account
    return account


def _billing_response(
    request: HttpRequest, *, problems: list[str] | None = None, status: int = 200
) -> HttpResponse:
    tenant = tenant_current()
    context = {
        **_standing(tenant),
        "status_label": tenant.get_status_display(),
        "usage": plan_usage(tenant=tenant),
        "plans": plans_offered(),
        "current_code": tenant.plan,
        "history": PlanChange.objects.filter(tenant=tenant)[:20],
        "problems": problems or [],
        "invoices": invoices_of(tenant),
        "account": _account_fresh(tenant, refresh=request.GET.get("connected") == "1"),
        "subscribed": subscription_live(tenant) is not None,
        "confirming": request.GET.get("paid") == "1" and tenant.plan not in PLANS_PAID,
    }
    return render_page_or_partial(
        request,
        page="dashboard/billing.html",
        partial="dashboard/_billing.html",
        context=context,
        status=status,
    )


@require_GET
@membership_required(ADMIN, factor_before_live=True)
def billing(request: HttpRequest) -> HttpResponse:
    return _billing_response(request)


@require_POST
@membership_required(ADMIN, factor_before_live=True)
def billing_choose_free(request: HttpRequest) -> HttpResponse:
    try:
        plan_free_choose(tenant=tenant_current(), actor=request.user.get_username())
    except ValidationFailed as error:
        return _refused(request, error)
    messages.success(request, _("The business is on the %(plan)s plan.") % {"plan": FREE.name})
    return redirect_after_post(request, reverse("dashboard:billing"))


def _refused(request: HttpRequest, error: DomainError) -> HttpResponse:
    problems = [error.message, *(detail.message for detail in error.details)]
    status = 503 if isinstance(error, PaymentsUnavailable) else 409
    return _billing_response(request, problems=problems, status=status)


def _billing_url(request: HttpRequest, **query: str) -> str:
    url = request.build_absolute_uri(reverse("dashboard:billing"))
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


@require_POST
@membership_required(ADMIN, factor_before_live=True)
def billing_choose_paid(request: HttpRequest, plan_code: str) -> HttpResponse:
    """Pays for a plan through Stripe Checkout, or moves a running subscription to it."""
    plan = PLANS.get(plan_code)
    if plan is None or not plan.is_paid:
        raise Http404("No such plan.")
    tenant = tenant_current()
    try:
        url = plan_pay(
            tenant=tenant,
            plan=plan,
            email=request.user.get_username(),
            success_url=_billing_url(request, paid="1"),
            cancel_url=_billing_url(request),
        )
    except (ValidationFailed, PaymentsUnavailable, PaymentRefused) as error:
        return _refused(request, error)
    if url is None:
        messages.success(
            request,
            _("The plan changes to %(plan)s once Stripe confirms it.") % {"plan": plan.name},
        )
        return redirect_after_post(request, reverse("dashboard:billing"))
    return HttpResponseRedirect(url, status=303)


@require_POST
@membership_required(ADMIN, factor_before_live=True)
def billing_portal(request: HttpRequest) -> HttpResponse:
    """Stripe's customer portal: cards, invoices, cancelling the subscription."""
    try:
        url = portal_url(
            tenant=tenant_current(),
            email=request.user.get_username(),
            return_url=_billing_url(request),
        )
    except (PaymentsUnavailable, PaymentRefused) as error:
        return _refused(request, error)
    return HttpResponseRedirect(url, status=303)


@require_POST
@membership_required(ADMIN, factor_before_live=True)
def billing_connect(request: HttpRequest) -> HttpResponse:
    """Stripe's onboarding of the business's own account, which takes its customers'
    payments for bookings."""
    try:
        url = account_connect_start(
            tenant=tenant_current(),
            email=request.user.get_username(),
            return_url=_billing_url(request, connected="1"),
            refresh_url=_billing_url(request),
        )
    except (PaymentsUnavailable, PaymentRefused) as error:
        return _refused(request, error)
    return HttpResponseRedirect(url, status=303)
