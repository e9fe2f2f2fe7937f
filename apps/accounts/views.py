"""Pages of the root domain (landing, signup, workspaces) and the tenant's entry pages."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from apps.accounts.forms import SignupForm
from apps.accounts.selectors import memberships_of
from apps.accounts.services import tenant_signup
from apps.core.errors import ValidationFailed


def tenant_url(request: HttpRequest, slug: str, path: str = "/") -> str:
    port = request.get_port()
    host = f"{slug}.{settings.BASE_DOMAIN}"
    if port not in ("80", "443"):
        host = f"{host}:{port}"
    return f"{request.scheme}://{host}{path}"


def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/landing.html")


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tenant, user = tenant_signup(
                business_name=form.cleaned_data["business_name"],
                slug=form.cleaned_data["slug"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                timezone=form.cleaned_data["timezone"],
            )
        except ValidationFailed as error:
            form.apply_domain_error(error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return render(
                request,
                "accounts/signup_done.html",
                {
                    "new_tenant": tenant,
                    "login_url": tenant_url(request, tenant.slug, "/accounts/login/"),
                    "home_url": tenant_url(request, tenant.slug),
                },
                status=201,
            )
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/signup.html", {"form": form}, status=status)


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
