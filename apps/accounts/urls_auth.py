"""Login, logout and password reset, mounted on both the root and the tenant domains."""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.urls import URLPattern, path, reverse_lazy
from django.utils.translation import gettext as _

from apps.accounts import language_views, mfa_views, views
from apps.accounts.forms import EmailAuthenticationForm
from apps.accounts.services import user_email_confirmed
from apps.core.rate_limits import client_ident, rate_limit_wait


class PasswordResetView(auth_views.PasswordResetView):
    """Names the business in the email when the reset is asked for on its domain.
    Limited per client and per address (RATE_PASSWORD_RESET), so nobody fills a
    stranger's inbox; the answer never says whether the address has an account."""

    def form_valid(self, form: Any) -> HttpResponse:
        email = form.cleaned_data["email"].strip().lower()
        ident = "email:" + hashlib.sha256(email.encode()).hexdigest()[:32]
        waits = [
            rate_limit_wait(scope="password_reset", ident=key, fail_closed=True)
            for key in (client_ident(self.request), ident)
        ]
        wait = max((w for w in waits if w is not None), default=None)
        if wait is not None:
            form.add_error(
                None,
                _("Too many reset requests. Wait %(minutes)s minutes, then try again.")
                % {"minutes": max(1, -(-wait // 60))},
            )
            response = self.form_invalid(form)
            response.status_code = 429
            return response
        tenant = getattr(self.request, "tenant", None)
        business = tenant.name if tenant is not None and tenant.schema_name != "public" else ""
        self.extra_email_context = {"business": business}
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Choosing a password from an emailed link (a reset, or an invitation) also proves
    the address: the first-day checklist's "confirmed email"."""

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        user_email_confirmed(user=form.user)
        return response


def auth_patterns(*, after_login: str) -> list[URLPattern]:
    return [
        path(
            "login/",
            auth_views.LoginView.as_view(
                authentication_form=EmailAuthenticationForm,
                next_page=reverse_lazy(after_login),
                redirect_authenticated_user=True,
            ),
            name="login",
        ),
        path("logout/", auth_views.LogoutView.as_view(next_page="/"), name="logout"),
        path("mfa/", mfa_views.mfa_setup, name="mfa"),
        path("language/", language_views.account_language, name="language"),
        path("sign-out-everywhere/", mfa_views.sign_out_everywhere, name="sign_out_everywhere"),
        path("mfa/verify/", mfa_views.mfa_verify_view, name="mfa_verify"),
        # The signup's crossing to the business's own host (under /signup/confirm/ so
        # that logs redact its token like the emailed link's: config/log_redaction.py).
        path("signup/confirm/<str:token>/", views.signup_welcome, name="signup_welcome"),
        path(
            "password-reset/",
            PasswordResetView.as_view(
                email_template_name="registration/password_reset_email.txt",
                subject_template_name="registration/password_reset_subject.txt",
                success_url=reverse_lazy("accounts:password_reset_done"),
            ),
            name="password_reset",
        ),
        path(
            "password-reset/sent/",
            auth_views.PasswordResetDoneView.as_view(),
            name="password_reset_done",
        ),
        path(
            "reset/<uidb64>/<token>/",
            PasswordResetConfirmView.as_view(
                success_url=reverse_lazy("accounts:password_reset_complete"),
            ),
            name="password_reset_confirm",
        ),
        path(
            "reset/done/",
            auth_views.PasswordResetCompleteView.as_view(),
            name="password_reset_complete",
        ),
    ]
