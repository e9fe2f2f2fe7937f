"""Setting up the second factor the admin sites ask for."""

from __future__ import annotations

import base64

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login

from apps.accounts.errors import ValidationFailed
from apps.accounts.mfa import (
    mfa_backup_codes_replace,
    mfa_totp_confirm,
    mfa_totp_device,
    mfa_totp_start,
    totp_qr_svg,
)


@never_cache
@login_required
def mfa_setup(request: HttpRequest) -> HttpResponse:
    user = request.user
    device = mfa_totp_device(user=user)  # type: ignore[arg-type]
    context: dict[str, object] = {"device": device}
    if device is None:
        pending = mfa_totp_start(user=user)  # type: ignore[arg-type]
        if request.method == "POST":
            token = request.POST.get("token", "")
            try:
                device = mfa_totp_confirm(user=user, token=token)  # type: ignore[arg-type]
            except ValidationFailed as error:
                context["errors"] = error.field_messages().get("token", [error.message])
                context["token"] = token
            else:
                # This session has just proved the factor: the admin opens at once.
                otp_login(request, device)
                context["device"] = device
                context["backup_codes"] = mfa_backup_codes_replace(user=user)  # type: ignore[arg-type]
        if context["device"] is None:
            context["qr_svg"] = totp_qr_svg(pending)
            context["secret"] = base64.b32encode(pending.bin_key).decode()
    elif request.method == "POST" and request.POST.get("action") == "backup-codes":
        context["backup_codes"] = mfa_backup_codes_replace(user=user)  # type: ignore[arg-type]
    status = 400 if context.get("errors") else 200
    return render(request, "accounts/mfa_setup.html", context, status=status)
