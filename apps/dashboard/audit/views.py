"""The business's audit page (admins only): its model history and the support accesses
to its admin, newest first, filterable and paged."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from apps.accounts.models import Membership
from apps.accounts.selectors import tenant_current
from apps.core.htmx import render_page_or_partial
from apps.dashboard.access import membership_required
from apps.dashboard.audit.forms import AuditFilterForm
from apps.dashboard.audit.selectors import audit_entries, audit_models, audit_trail

ENTRIES_PER_PAGE = 25


@require_GET
@membership_required(Membership.Role.ADMIN)
def audit(request: HttpRequest) -> HttpResponse:
    tenant = tenant_current()
    form = AuditFilterForm(request.GET, models=audit_models())
    form.is_valid()  # invalid filters are reported and left out
    chosen = form.cleaned_data
    trail = audit_trail(
        tz_name=tenant.timezone,
        kind=chosen.get("kind") or "",
        content_type_id=chosen.get("model"),
        actor_email=chosen.get("actor") or "",
        first_day=chosen.get("date_from"),
        last_day=chosen.get("date_to"),
    )
    page = Paginator(trail, ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render_page_or_partial(
        request,
        page="dashboard/audit.html",
        partial="dashboard/_audit.html",
        context={
            "form": form,
            "page": page,
            "entries": audit_entries(list(page.object_list)),
            "query": params.urlencode(),
        },
        status=400 if form.errors else 200,
    )
