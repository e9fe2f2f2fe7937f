"""Pages of the root domain (landing, signup, workspaces) and the tenant's entry pages."""

from __future__ import annotations

import hashlib

from django import forms
from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from apps.accounts.forms import BusinessForm, SignupForm
from apps.accounts.models import Tenant, User
from apps.accounts.selectors import memberships_of
from apps.accounts.services import signup_confirm as signup_confirm_service
from apps.accounts.services import (
    signup_request,
    signup_welcome_read,
    signup_welcome_token,
    tenant_create,
)
from apps.core.errors import ValidationFailed
from apps.core.rate_limits import client_ident, rate_limit_wait


def tenant_url(request: HttpRequest, slug: str, path: str = "/") -> str:
    port = request.get_port()
    host = f"{slug}.{settings.BASE_DOMAIN}"
    if port not in ("80", "443"):
        host = f"{host}:{port}"
    return f"{request.scheme}://{host}{path}"


def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/landing.html")


def _throttled(request: HttpRequest, scope: str, *idents: str) -> int | None:
    """Seconds to wait when this client (or one of `idents`, such as an email's hash)
    has used up `scope`'s rate, else None."""
    waits = [
        rate_limit_wait(scope=scope, ident=ident, fail_closed=True)
        for ident in (client_ident(request), *idents)
        if ident
    ]
    return max((w for w in waits if w is not None), default=None)


def _email_ident(email: str) -> str:
    return "email:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def _too_many(form: forms.Form, wait: int) -> None:
    form.add_error(
        None,
        _("Too many attempts from here. Wait %(minutes)s minutes, then try again.")
        % {"minutes": max(1, -(-wait // 60))},
    )


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """A new business. Signed in: it is added to the account at once. Otherwise the
    answer is the same page whether or not the email has an account: "we sent a link"."""
    if request.user.is_authenticated:
        return _business_add(request)
    form = SignupForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        wait = _throttled(request, "signup", _email_ident(email))
        if wait is not None:
            _too_many(form, wait)
            return render(request, "accounts/signup.html", {"form": form}, status=429)
        try:
            signup_request(
                business_name=form.cleaned_data["business_name"],
                slug=form.cleaned_data["slug"],
                email=email,
                password=form.cleaned_data["password"],
                timezone=form.cleaned_data["timezone"],
                confirm_url=lambda token: request.build_absolute_uri(
                    reverse("signup_confirm", kwargs={"token": token})
                ),
                login_url=request.build_absolute_uri(
                    reverse("accounts:login") + "?next=" + reverse("signup")
                ),
            )
        except ValidationFailed as error:
            form.apply_domain_error(error)
        else:
            return render(request, "accounts/signup_sent.html", {"email": email.strip().lower()})
    if request.method == "POST":
        status = 400
    return render(request, "accounts/signup.html", {"form": form}, status=status)


def _business_add(request: HttpRequest) -> HttpResponse:
    form = BusinessForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tenant = tenant_create(
                slug=form.cleaned_data["slug"],
                name=form.cleaned_data["business_name"],
                owner=request.user,  # type: ignore[arg-type]
                timezone=form.cleaned_data["timezone"],
                live=False,
            )
        except ValidationFailed as error:
            form.apply_domain_error(error)
        else:
            return _welcome_redirect(request, tenant, request.user)  # type: ignore[arg-type]
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/signup.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def signup_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link. Opening it shows a button (link checkers that open every link
    in an email must not use it up); the button creates the business and signs in."""
    if request.method == "GET":
        return render(request, "accounts/signup_confirm.html", {})
    wait = _throttled(request, "signup")
    if wait is not None:
        return render(
            request,
            "accounts/signup_confirm.html",
            {"error": _("Too many attempts from here. Try again in a few minutes.")},
            status=429,
        )
    try:
        tenant, user = signup_confirm_service(token=token)
    except ValidationFailed as error:
        # e.g. the subdomain was taken since the link was sent: say so, not just "failed"
        message = " ".join([error.message, *(detail.message for detail in error.details)])
        return render(request, "accounts/signup_confirm.html", {"error": message}, status=400)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return _welcome_redirect(request, tenant, user)


def _welcome_redirect(request: HttpRequest, tenant: Tenant, user: User) -> HttpResponse:
    """On to the new business's own host, signed in there too (its session is its own),
    where the dashboard's first-day checklist opens."""
    user.refresh_from_db(fields=["last_login", "password"])
    token = signup_welcome_token(user=user, tenant=tenant)
    url = tenant_url(request, tenant.slug, reverse("accounts:signup_welcome", args=[token]))
    return HttpResponseRedirect(url, status=303)


@never_cache
@require_GET
def signup_welcome(request: HttpRequest, token: str) -> HttpResponse:
    """On the business's host: the token made by `_welcome_redirect` signs its owner in
    once, then the dashboard opens on Today."""
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.schema_name == "public":
        raise Http404("No such page.")
    try:
        user = signup_welcome_read(token=token, tenant=tenant)
    except ValidationFailed as error:
        return render(
            request, "accounts/signup_welcome_failed.html", {"error": error.message}, status=400
        )
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return HttpResponseRedirect(reverse("dashboard:home"), status=303)


@login_required
def workspaces(request: HttpRequest) -> HttpResponse:
    links = [
        {
            "membership": membership,
            "url": tenant_url(request, membership.tenant.slug, "/dashboard/"),
        }
        for membership in memberships_of(user=request.user)  # type: ignore[arg-type]
    ]
    return render(request, "accounts/workspaces.html", {"links": links})
