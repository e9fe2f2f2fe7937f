"""Login, logout and password reset, mounted on both the root and the tenant domains."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.urls import URLPattern, path, reverse_lazy

from apps.accounts import mfa_views
from apps.accounts.forms import EmailAuthenticationForm


class PasswordResetView(auth_views.PasswordResetView):
    """Names the business in the email when the reset is asked for on its domain."""

    def form_valid(self, form: Any) -> HttpResponse:
        tenant = getattr(self.request, "tenant", None)
        business = tenant.name if tenant is not None and tenant.schema_name != "public" else ""
        self.extra_email_context = {"business": business}
        return super().form_valid(form)


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
        path("mfa/verify/", mfa_views.mfa_verify_view, name="mfa_verify"),
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
            auth_views.PasswordResetConfirmView.as_view(
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
