from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminAuthenticationForm
from django_otp.plugins.otp_static.models import StaticDevice

from apps.accounts.mfa import backup_code_digests, is_authenticator_code
from apps.accounts.models import AuthenticatorDevice
from apps.accounts.signin import signin_failed_report
from apps.accounts.subdomains import MAX_LENGTH
from apps.core.errors import ValidationFailed
from apps.core.timezone_field import TimeZoneField


class BusinessForm(forms.Form):
    """A business to open (for someone already signed in)."""

    business_name = forms.CharField(label=gettext_lazy("Business name"), max_length=120)
    slug = forms.CharField(
        label=gettext_lazy("Subdomain"),
        max_length=MAX_LENGTH + 20,  # longer input gets the friendly length message
        help_text=gettext_lazy(
            "Your booking page lives at this address. Lowercase letters, digits, hyphens."
        ),
    )
    # No initial zone: the picker proposes the browser's (UTC without JavaScript).
    timezone = TimeZoneField(label=gettext_lazy("Time zone"))

    FIELD_FOR = {"name": "business_name"}

    def apply_domain_error(self, error: ValidationFailed) -> None:
        for detail in error.details:
            field = self.FIELD_FOR.get(detail.field, detail.field)
            self.add_error(field if field in self.fields else None, detail.message)
        if not error.details:
            self.add_error(None, error.message)


class SignupForm(BusinessForm):
    """A business and its owner's new account."""

    email = forms.EmailField(label=gettext_lazy("Your email"))
    password = forms.CharField(
        label=gettext_lazy("Password"), widget=forms.PasswordInput(render_value=True), strip=False
    )

    field_order = ["business_name", "slug", "email", "password", "timezone"]


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label=gettext_lazy("Email"), widget=forms.EmailInput(attrs={"autofocus": True})
    )


class AdminOTPLoginForm(OTPAdminAuthenticationForm):
    """The admin login: email, password and second factor in one step. A refusal says
    the same whichever part was wrong (a right password is never confirmed, no device
    list appears), and a right password with a wrong code counts as a failed sign-in
    towards the lockout. When no device is picked, the code's shape picks it (six
    digits: the authenticator app; otherwise a backup code), so a wrong guess only
    counts against the device it was meant for."""

    otp_token = forms.CharField(
        required=False, widget=forms.TextInput(attrs={"autocomplete": "one-time-code"})
    )

    REFUSED = _(
        "Enter the email, password and code of a staff account with a second factor. "
        "All three are checked together."
    )

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except forms.ValidationError:
            user = self.get_user()
            self.user_cache = None
            if user is not None:  # the password was right: the code was not
                signin_failed_report(self.request, email=user.email)
            # A code is used once: the refused one is not shown back either.
            form: Any = self
            form.data = form.data.copy()
            form.data["otp_token"] = ""
            raise forms.ValidationError(self.REFUSED, code="invalid_login") from None

    def _verify_token(self, user: Any, token: str, device: Any = None) -> Any:
        """Backup codes are stored as digests (apps/accounts/mfa.py): a typed one is
        compared in that form."""
        if isinstance(device, StaticDevice):
            token = backup_code_digests(token)[0]
        return super()._verify_token(user, token, device)

    def _update_form(self, user: Any) -> None:
        """django-otp would list the account's devices here, after a right password."""

    def _chosen_device(self, user: Any) -> Any:
        device = super()._chosen_device(user)
        token = "".join((self.cleaned_data.get("otp_token") or "").split())
        if device is None and token:
            model = AuthenticatorDevice if is_authenticator_code(token) else StaticDevice
            device = (
                model.objects.select_for_update()
                .filter(user=user, confirmed=True)
                .order_by("id")
                .first()
            )
        return device
