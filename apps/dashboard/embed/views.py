"""Dashboard screen "Embed on your website" (admins): the websites that may show the
booking pages in a frame (apps/accounts/embed_origins.py), and the snippet to paste
into the business's site, built from the service and the person or room it starts with
(static/js/embed.js; the frame side is apps/booking_site/embed.py)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from apps.accounts.addresses import tenant_base_url
from apps.accounts.embed_origins import tenant_embed_origins_update
from apps.accounts.models import Membership
from apps.accounts.selectors import tenant_current
from apps.core.errors import ValidationFailed
from apps.core.htmx import redirect_after_post, render_page_or_partial
from apps.dashboard.access import membership_required
from apps.dashboard.embed.forms import EmbedOriginsForm, SnippetForm
from apps.resources.selectors import resource_list, service_list

ADMIN = Membership.Role.ADMIN


def _snippet_form(request: HttpRequest) -> SnippetForm:
    return SnippetForm(
        request.GET if "service" in request.GET or "resource" in request.GET else None,
        services=service_list(),
        resources=resource_list(),
    )


def snippet_html(*, base_url: str, title: str, service_id: str = "", resource_id: str = "") -> str:
    """The HTML a business pastes into its site; `title` names the frame for screen
    readers."""
    script = static("js/embed.js")
    if script.startswith("/"):
        script = f"{base_url}{script}"
    attributes = [f'data-timenest="{base_url}/"', f'data-title="{escape(title)}"']
    if service_id:
        attributes.append(f'data-service="{service_id}"')
        if resource_id:
            attributes.append(f'data-resource="{resource_id}"')
    return f'<div {" ".join(attributes)}></div>\n<script src="{script}" defer></script>'


def _snippet_context(request: HttpRequest) -> dict[str, Any]:
    form = _snippet_form(request)
    service_id = resource_id = ""
    if form.is_bound and form.is_valid():
        service = form.cleaned_data.get("service")
        resource = form.cleaned_data.get("resource")
        service_id = str(service.pk) if service is not None else ""
        resource_id = str(resource.pk) if resource is not None else ""
    tenant = tenant_current()
    title = _("Book an appointment with %(name)s") % {"name": tenant.name}
    snippet = snippet_html(
        base_url=tenant_base_url(tenant),
        title=title,
        service_id=service_id,
        resource_id=resource_id,
    )
    return {"snippet_form": form, "snippet": snippet}


def _page(request: HttpRequest, form: EmbedOriginsForm, *, status: int = 200) -> HttpResponse:
    tenant = tenant_current()
    return render_page_or_partial(
        request,
        page="dashboard/embed.html",
        partial="dashboard/_embed.html",
        context={"form": form, "origins": list(tenant.embed_origins), **_snippet_context(request)},
        status=status,
    )


@membership_required(ADMIN)
@require_http_methods(["GET", "POST"])
def embed_settings(request: HttpRequest) -> HttpResponse:
    tenant = tenant_current()
    if request.method == "POST":
        form = EmbedOriginsForm(request.POST)
        if form.is_valid():
            try:
                tenant_embed_origins_update(tenant=tenant, values=form.lines())
            except ValidationFailed as error:
                form.apply_domain_error(error)
            else:
                messages.success(request, _("Websites saved."))
                return redirect_after_post(request, reverse("dashboard:embed"))
        return _page(request, form, status=400)
    form = EmbedOriginsForm(initial={"embed_origins": "\n".join(tenant.embed_origins)})
    return _page(request, form)


@membership_required(ADMIN)
@require_GET
def embed_snippet(request: HttpRequest) -> HttpResponse:
    """The snippet for the chosen service and person (htmx swaps it in as the pickers
    change; without JavaScript the pickers' form reloads the page with it)."""
    context = _snippet_context(request)
    status = 400 if context["snippet_form"].errors else 200
    return render_page_or_partial(
        request,
        page="dashboard/embed.html",
        partial="dashboard/_embed_snippet.html",
        context={
            "form": EmbedOriginsForm(
                initial={"embed_origins": "\n".join(tenant_current().embed_origins)}
            ),
            "origins": list(tenant_current().embed_origins),
            **context,
        },
        status=status,
    )
