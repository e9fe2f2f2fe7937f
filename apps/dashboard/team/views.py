"""Dashboard screens for the team (invite, change a role, remove) and the business's
settings (booking policy and notification preferences)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST
from django_otp.plugins.otp_static.models import StaticToken

from apps.accounts.models import AuthenticatorDevice, Membership
from apps.accounts.selectors import tenant_current
from apps.accounts.services import tenant_settings_update
from apps.accounts.team import membership_change_role, membership_invite, membership_remove
from apps.core.entitlements import PlanLimitReached
from apps.core.errors import ValidationFailed
from apps.core.htmx import redirect_after_post, render_page_or_partial
from apps.dashboard.access import membership_required
from apps.dashboard.forms import InviteForm, RoleForm, TenantSettingsForm
from apps.notifications.selectors import notification_preference_get
from apps.notifications.services import notification_preference_update

ADMIN = Membership.Role.ADMIN


def _team_context(request: HttpRequest, invite_form: InviteForm | None = None) -> dict[str, Any]:
    members = (
        Membership.objects.filter(tenant=tenant_current())
        .select_related("user")
        .annotate(
            # As apps.accounts.mfa.mfa_has_factor: an authenticator or an unused backup code.
            two_step=Exists(
                AuthenticatorDevice.objects.filter(user_id=OuterRef("user_id"), confirmed=True)
            )
            | Exists(
                StaticToken.objects.filter(
                    device__user_id=OuterRef("user_id"), device__confirmed=True
                )
            )
        )
        .order_by("user__email")
    )
    return {
        "members": members,
        "invite_form": invite_form or InviteForm(),
        "roles": Membership.Role.choices,
    }


def _team_response(
    request: HttpRequest, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    return render_page_or_partial(
        request,
        page="dashboard/team.html",
        partial="dashboard/_team.html",
        context=context,
        status=status,
    )


@membership_required(ADMIN)
@require_http_methods(["GET", "POST"])
def team(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                membership = membership_invite(
                    tenant=tenant_current(),
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    invited_by=request.user,  # type: ignore[arg-type]
                    base_url=f"{request.scheme}://{request.get_host()}",
                )
            except (ValidationFailed, PlanLimitReached) as error:
                form.apply_domain_error(error)
            else:
                messages.success(request, f"Invitation sent to {membership.user.email}.")
                if not request.htmx:  # type: ignore[attr-defined]
                    return redirect("dashboard:team")
                form = InviteForm()
        if form.errors:
            status = 400
    return _team_response(request, _team_context(request, form), status)


@membership_required(ADMIN)
@require_POST
def team_role(request: HttpRequest, membership_id: str) -> HttpResponse:
    membership = get_object_or_404(
        Membership,
        pk=membership_id,
        tenant=tenant_current(),
    )
    form = RoleForm(request.POST)
    status = 200
    if form.is_valid():
        try:
            updated = membership_change_role(
                membership=membership,
                role=form.cleaned_data["role"],
                changed_by=request.user,  # type: ignore[arg-type]
            )
            messages.success(
                request, f"{membership.user.email} is now {updated.get_role_display()}."
            )
        except ValidationFailed as error:
            messages.error(request, error.details[0].message if error.details else error.message)
            status = 400
    else:
        messages.error(request, gettext("Choose one of the roles."))
        status = 400
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect("dashboard:team")
    return _team_response(request, _team_context(request), status)


@membership_required(ADMIN)
@require_POST
def team_remove(request: HttpRequest, membership_id: str) -> HttpResponse:
    membership = get_object_or_404(
        Membership,
        pk=membership_id,
        tenant=tenant_current(),
    )
    status = 200
    try:
        membership_remove(membership=membership)
        messages.success(request, f"{membership.user.email} was removed from the team.")
    except ValidationFailed as error:
        messages.error(request, error.details[0].message if error.details else error.message)
        status = 400
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect("dashboard:team")
    return _team_response(request, _team_context(request), status)


@membership_required(ADMIN)
@require_http_methods(["GET", "POST"])
def tenant_settings(request: HttpRequest) -> HttpResponse:
    tenant = tenant_current()
    if request.method == "POST":
        form = TenantSettingsForm(request.POST)
        if form.is_valid():
            try:
                with transaction.atomic():
                    changed = tenant_settings_update(tenant=tenant, data=form.service_data())
                    preference = notification_preference_get()
                    wanted = form.notification_data()
                    if any(getattr(preference, k) != v for k, v in wanted.items()):
                        notification_preference_update(**wanted)
                        changed.add("notifications")
            except ValidationFailed as error:
                form.apply_domain_error(error)
            else:
                messages.success(request, "Settings saved." if changed else "Nothing to change.")
                return redirect_after_post(request, reverse("dashboard:settings"))
        return _settings_response(request, form, status=400)
    preference = notification_preference_get()
    notifications = {k: getattr(preference, k) for k in TenantSettingsForm.NOTIFICATION_FIELDS}
    form = TenantSettingsForm(initial=TenantSettingsForm.initial_for(tenant, notifications))
    return _settings_response(request, form)


def _settings_response(
    request: HttpRequest, form: TenantSettingsForm, status: int = 200
) -> HttpResponse:
    return render_page_or_partial(
        request,
        page="dashboard/settings.html",
        partial="dashboard/_settings.html",
        context={"form": form},
        status=status,
    )
