"""Setting up the second factor, and passing it once per session where it is asked for
(the admin sites ask on their own login form; the dashboard sends people here)."""

from __future__ import annotations

import base64
from urllib.parse import urlencode

from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_otp import login as otp_login

from apps.accounts.mfa import (
    MFA_ENROL,
    mfa_backup_codes_replace,
    mfa_has_factor,
    mfa_session_verified,
    mfa_totp_confirm,
    mfa_totp_device,
    mfa_totp_start,
    mfa_verify,
    totp_qr_svg,
)
from apps.accounts.signin import sessions_end_everywhere
from apps.core.errors import ValidationFailed


def _next_url(request: HttpRequest) -> str:
    """Where to go once the factor is passed: the page that asked, if it is ours."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    try:
        return reverse("dashboard:home")  # on a business's domain
    except NoReverseMatch:
        return "/"


def mfa_step_redirect(request: HttpRequest, step: str) -> HttpResponse:
    """Sends a member who still owes a second factor to set one up or to pass it, and
    back to this page afterwards (a form post comes back to the page that showed it)."""
    if request.method == "GET":
        back = request.get_full_path()
    else:
        back = request.headers.get("HX-Current-URL") or request.headers.get("Referer") or ""
    target = reverse("accounts:mfa" if step == MFA_ENROL else "accounts:mfa_verify")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        target += "?" + urlencode({"next": back})
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(target)
    return HttpResponseRedirect(target)


# The authenticator this session is setting up (its key is shown to no other session).
PENDING_DEVICE_KEY = "mfa_pending_device"


@never_cache
@login_required
def mfa_setup(request: HttpRequest) -> HttpResponse:
    user = request.user
    if mfa_has_factor(user) and not mfa_session_verified(user):  # type: ignore[arg-type]
        # Changing the factor (or making new backup codes) takes passing the current one.
        return redirect(reverse("accounts:mfa_verify") + "?" + urlencode({"next": request.path}))
    device = mfa_totp_device(user=user)  # type: ignore[arg-type]
    context: dict[str, object] = {"device": device, "next": _next_url(request)}
    if device is None:
        pending = mfa_totp_start(
            user=user,  # type: ignore[arg-type]
            pending_id=request.session.get(PENDING_DEVICE_KEY),
        )
        request.session[PENDING_DEVICE_KEY] = pending.pk
        if request.method == "POST":
            token = request.POST.get("token", "")
            try:
                device = mfa_totp_confirm(user=user, pending_id=pending.pk, token=token)  # type: ignore[arg-type]
            except ValidationFailed as error:
                context["errors"] = error.field_messages().get("token", [error.message])
                context["token"] = token
            else:
                request.session.pop(PENDING_DEVICE_KEY, None)
                # This session has just proved the factor: what asked for it opens at once.
                otp_login(request, device)
                context["device"] = device
                context["backup_codes"] = mfa_backup_codes_replace(user=user)  # type: ignore[arg-type]
                context["just_enrolled"] = True
        if context["device"] is None:
            context["qr_svg"] = totp_qr_svg(pending)
            secret = base64.b32encode(pending.bin_key).decode()
            # In groups of four, as authenticator apps show and accept it.
            context["secret_groups"] = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    elif request.method == "POST" and request.POST.get("action") == "backup-codes":
        context["backup_codes"] = mfa_backup_codes_replace(user=user)  # type: ignore[arg-type]
    status = 400 if context.get("errors") else 200
    return render(request, "accounts/mfa_setup.html", context, status=status)


@never_cache
@login_required
def mfa_verify_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    next_url = _next_url(request)
    if mfa_session_verified(user):
        return redirect(next_url)
    if not mfa_has_factor(user):  # type: ignore[arg-type]
        return redirect(reverse("accounts:mfa") + "?" + urlencode({"next": next_url}))
    context: dict[str, object] = {"next": next_url}
    if request.method == "POST":
        try:
            device = mfa_verify(user=user, code=request.POST.get("code", ""))  # type: ignore[arg-type]
        except ValidationFailed as error:
            context["errors"] = error.field_messages().get("code", [error.message])
        else:
            otp_login(request, device)
            return redirect(next_url)
    status = 400 if context.get("errors") else 200
    return render(request, "accounts/mfa_verify.html", context, status=status)


@require_POST
@login_required
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    """Ends every session of this person (this one too) and revokes their API tokens."""
    sessions_end_everywhere(user=request.user)  # type: ignore[arg-type]
    logout(request)
    return redirect(reverse("accounts:login"))
