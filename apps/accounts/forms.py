from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django_otp.admin import OTPAdminAuthenticationForm
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.subdomains import MAX_LENGTH
from apps.core.errors import ValidationFailed
from apps.core.timezones import timezone_choices


class SignupForm(forms.Form):
    business_name = forms.CharField(label="Business name", max_length=120)
    slug = forms.CharField(
        label="Subdomain",
        max_length=MAX_LENGTH + 20,  # longer input gets the friendly length message
        help_text="Your booking page lives at this address. Lowercase letters, digits, hyphens.",
    )
    email = forms.EmailField(label="Your email")
    password = forms.CharField(
        label="Password", widget=forms.PasswordInput(render_value=True), strip=False
    )
    timezone = forms.ChoiceField(label="Time zone", choices=timezone_choices, initial="UTC")

    FIELD_FOR = {"name": "business_name"}

    def apply_domain_error(self, error: ValidationFailed) -> None:
        for detail in error.details:
            field = self.FIELD_FOR.get(detail.field, detail.field)
            self.add_error(field if field in self.fields else None, detail.message)
        if not error.details:
            self.add_error(None, error.message)


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(label="Email", widget=forms.EmailInput(attrs={"autofocus": True}))


class AdminOTPLoginForm(OTPAdminAuthenticationForm):
    """The admin login: password and second factor in one step. When no device is
    picked, the code's shape picks it (six digits: the authenticator app; otherwise a
    backup code), so a wrong guess only counts against the device it was meant for."""

    def _chosen_device(self, user: Any) -> Any:
        device = super()._chosen_device(user)
        token = "".join((self.cleaned_data.get("otp_token") or "").split())
        if device is None and token:
            model = TOTPDevice if token.isdigit() and len(token) == 6 else StaticDevice
            device = (
                model.objects.select_for_update()
                .filter(user=user, confirmed=True)
                .order_by("id")
                .first()
            )
        return device
