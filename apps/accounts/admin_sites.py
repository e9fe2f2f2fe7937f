"""The Django admin for platform support agents, on the root domain (every tenant) and on
each tenant's domain (that tenant's data only).

Both sites require a verified TOTP (or backup-code) device on top of the password
(PRODUCT.md §4.8: support agents pass MFA), and every request a staff member makes in them
is written to the append-only support-access trail of the schema it looked at. A
tenant's admin first asks the agent why they are there, once per session: the reason is
kept in that tenant's trail.

The platform site's front page and its support pages (the tenant overview, look-ups)
belong to the support console (apps/support), which registers them here at start-up
(`register_index`, `register_page`), so this module imports none of the apps above it."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminSite

from apps.accounts.closure import REASON_MAX_LENGTH
from apps.accounts.forms import AdminOTPLoginForm
from apps.accounts.signals import admin_request_served
from apps.core.tenancy import current_schema

AdminPage = Callable[..., HttpResponse]

# What a view noted about its request for the support-access trail, and whether the
# request was turned back before anything was shown (then it is not an access).
_NOTE_ATTRIBUTE = "_support_access_note"
_GATED_ATTRIBUTE = "_support_access_gated"


def support_access_note(
    request: HttpRequest,
    *,
    reason: str = "",
    details: dict[str, Any] | None = None,
    path: str | None = None,
) -> None:
    """What the support-access row of this admin request says besides who and what: the
    reason the agent typed, what a look-up asked (never personal data in clear), and the
    path to keep when the request's own would carry what was looked up."""
    setattr(request, _NOTE_ATTRIBUTE, {"reason": reason, "details": details or {}, "path": path})


class _AuditedOTPAdminSite(OTPAdminSite):
    login_form = AdminOTPLoginForm
    login_template = "admin/otp_login.html"

    def admin_view(
        self, view: Callable[..., HttpResponse], cacheable: bool = False
    ) -> Callable[..., HttpResponse]:
        inner = super().admin_view(self.gate(view), cacheable)

        @wraps(inner)
        def audited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            response = inner(request, *args, **kwargs)
            # Only requests the site let in are accesses; the login redirect is not.
            if self.has_permission(request) and not getattr(request, _GATED_ATTRIBUTE, False):
                admin_request_served.send(
                    sender=type(self),
                    request=request,
                    site=self.name,
                    **getattr(request, _NOTE_ATTRIBUTE, {}),
                )
            return response

        return audited

    def gate(self, view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        """What a signed-in, verified staff member passes before `view` (nothing here)."""
        return view


class PlatformAdminSite(_AuditedOTPAdminSite):
    site_header = _("TimeNest — platform administration")
    site_title = _("TimeNest admin")
    index_title = _("Tenants, people and platform records")

    # Pages that apps above accounts add (apps/support/admin.py): (route, view, name).
    _pages: tuple[tuple[str, AdminPage, str], ...] = ()
    _index_page: Callable[[HttpRequest], HttpResponse | None] | None = None

    def register_page(self, route: str, view: AdminPage, *, name: str) -> None:
        """Serves `view` at admin/<route> as `admin:<name>`, behind the same sign-in,
        second factor and audit as every other admin page. Call it before the URLconf
        is first read (an app's admin module)."""
        self._pages = (*self._pages, (route, view, name))

    def register_index(self, view: Callable[[HttpRequest], HttpResponse | None]) -> None:
        """The site's front page; `view` answers None to fall back to the app list."""
        self._index_page = view

    def get_urls(self) -> list[URLResolver | URLPattern]:
        pages = [path(route, self.admin_view(view), name=name) for route, view, name in self._pages]
        return [*pages, *super().get_urls()]

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        if self._index_page is not None:
            response = self._index_page(request)
            if response is not None:
                return response
        return super().index(request, extra_context)


class SupportReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_(
            "For example the ticket you are working on. Kept in this business's audit "
            "trail with your name; the business's admins can read it."
        ),
    )

    def clean_reason(self) -> str:
        return str(self.cleaned_data["reason"]).strip()


def support_reason_session_key(schema_name: str) -> str:
    """The session entry that says the agent gave a reason for this tenant's admin."""
    return f"support_reason:{schema_name}"


class TenantAdminSite(_AuditedOTPAdminSite):
    site_header = _("TimeNest — tenant administration")
    site_title = _("TimeNest tenant admin")
    index_title = _("This business's data")

    def get_urls(self) -> list[URLResolver | URLPattern]:
        reason = path(
            "support-reason/", self.admin_view(self.support_reason), name="support_reason"
        )
        return [reason, *super().get_urls()]

    def gate(self, view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        """An agent entering this business's admin says why, once per session: until
        then every page leads to the reason form (and is not an access: nothing of the
        business was shown)."""
        if view == self.support_reason or view == self.logout:
            return view

        @wraps(view)
        def gated(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.session.get(support_reason_session_key(current_schema())):
                return view(request, *args, **kwargs)
            setattr(request, _GATED_ATTRIBUTE, True)
            query = urlencode({REDIRECT_FIELD_NAME: request.get_full_path()})
            return HttpResponseRedirect(f"{reverse(f'{self.name}:support_reason')}?{query}")

        return gated

    def support_reason(self, request: HttpRequest) -> HttpResponse:
        after = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME, "")
        if not url_has_allowed_host_and_scheme(
            after, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            after = reverse(f"{self.name}:index")
        key = support_reason_session_key(current_schema())
        form = SupportReasonForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            request.session[key] = timezone.now().isoformat()
            support_access_note(request, reason=form.cleaned_data["reason"])
            return HttpResponseRedirect(after)
        context = {
            **self.each_context(request),
            "title": _("Why are you opening this business's admin?"),
            "form": form,
            "next": after,
            "redirect_field_name": REDIRECT_FIELD_NAME,
        }
        return TemplateResponse(request, "admin/support_reason.html", context)


tenant_admin_site = TenantAdminSite(name="tenant_admin")


class ReadOnlyAdmin(admin.ModelAdmin):
    """A trail or a record of money: support reads it; nobody adds, edits or deletes
    through the admin (the database refuses edits of the audit trails anyway)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _superuser_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        # Others are sent to the login by the admin's own check behind this one.
        if user.is_active and user.is_staff and not user.is_superuser:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return checked


def superuser_only(model_admin: type[admin.ModelAdmin[Any]]) -> type[admin.ModelAdmin[Any]]:
    """`model_admin`, open to superusers only: other staff do not see its app or model in
    the index and get 403 from each of its pages, its extra pages included (dj-stripe's
    action pages), whatever permissions they hold. For raw records of payment providers
    (apps/support/admin.py)."""

    class SuperuserOnly(model_admin):  # type: ignore[valid-type,misc]
        def has_module_permission(self, request: HttpRequest) -> bool:
            return bool(request.user.is_superuser) and super().has_module_permission(request)

        def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
            return bool(request.user.is_superuser) and super().has_view_permission(request, obj)

        def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
            return bool(request.user.is_superuser) and super().has_add_permission(request, *args)

        def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
            return bool(request.user.is_superuser) and super().has_change_permission(request, obj)

        def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
            return bool(request.user.is_superuser) and super().has_delete_permission(request, obj)

        def get_urls(self) -> list[URLPattern]:
            urls: list[URLPattern] = super().get_urls()
            for pattern in urls:
                pattern.callback = _superuser_required(pattern.callback)
            return urls

    SuperuserOnly.__name__ = SuperuserOnly.__qualname__ = f"SuperuserOnly{model_admin.__name__}"
    return SuperuserOnly
