"""A custom domain (any host but the business's own subdomain) is a plan feature: support
adding one to a business in the root admin is refused, with the reason on the form,
unless the business's plan includes it; the business's own subdomain is always fine."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.conf import settings

from apps.accounts.domains import domain_add_check
from apps.accounts.models import Domain, Tenant
from apps.core.entitlements import PlanLimitReached
from tests.plugins.factories import verified_staff_client

ROOT = "localhost"


class _FormFields(HTMLParser):
    """What a browser posts back from a page's form: its named fields' current values."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        name = found.get("name")
        if tag == "input" and name:
            kind = found.get("type", "text")
            if kind in ("submit", "button", "file", "image"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in found:
                    self.data.setdefault(name, []).append(found.get("value", "on"))
                return
            self.data.setdefault(name, []).append(found.get("value", ""))
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in found:
            self.data.setdefault(self._select, []).append(found.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = [""]

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea][0] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _on_plan(tenant: Tenant, code: str) -> Tenant:
    tenant.plan, tenant.status = code, Tenant.Status.ACTIVE
    tenant.save(update_fields=["plan", "status"])
    return tenant


def _change_page(client, tenant: Tenant) -> tuple[str, dict[str, list[str]]]:
    url = f"/admin/accounts/tenant/{tenant.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    fields = _FormFields()
    fields.feed(page.content.decode())
    return url, fields.data


def _with_domain_added(form: dict[str, list[str]], tenant: Tenant, host: str) -> dict:
    """The form as posted after "Add another Domain" and typing `host`."""
    index = int(form["domains-TOTAL_FORMS"][0])
    return form | {
        "domains-TOTAL_FORMS": [str(index + 1)],
        f"domains-{index}-domain": [host],
        f"domains-{index}-tenant": [str(tenant.pk)],
        f"domains-{index}-id": [""],
    }


@pytest.fixture
def support():
    return verified_staff_client(ROOT)


@pytest.mark.parametrize("plan", ["free", "starter"])
def test_the_admin_refuses_a_custom_domain_on_a_plan_without_one(globex, support, plan):
    _on_plan(globex, plan)
    url, form = _change_page(support, globex)

    response = support.post(url, _with_domain_added(form, globex, "book.globex-clinic.example"))

    assert response.status_code == 200  # the form again, with the error
    html = response.content.decode()
    plan_name = {"free": "Free", "starter": "Starter"}[plan]
    assert f"The {plan_name} plan does not include a custom domain; upgrade to use it." in html
    assert 'value="book.globex-clinic.example"' in html  # what was typed is kept
    assert not Domain.objects.filter(domain="book.globex-clinic.example").exists()


def test_the_admin_adds_a_custom_domain_on_pro(globex, support):
    _on_plan(globex, "pro")
    url, form = _change_page(support, globex)

    response = support.post(url, _with_domain_added(form, globex, "book.globex-clinic.example"))

    assert response.status_code == 302
    assert Domain.objects.get(domain="book.globex-clinic.example").tenant_id == globex.pk


def test_a_custom_domain_is_accepted_when_the_same_save_moves_the_business_to_pro(globex, support):
    _on_plan(globex, "free")
    url, form = _change_page(support, globex)

    posted = _with_domain_added(form, globex, "book.globex-clinic.example") | {"plan": ["pro"]}
    response = support.post(url, posted)

    assert response.status_code == 302
    assert Domain.objects.filter(domain="book.globex-clinic.example").exists()
    globex.refresh_from_db()
    assert globex.plan == "pro"


def test_the_business_own_subdomain_is_always_accepted(globex, support):
    _on_plan(globex, "free")
    own = f"globex.{settings.BASE_DOMAIN}"
    Domain.objects.filter(domain=own).delete()
    url, form = _change_page(support, globex)

    response = support.post(url, _with_domain_added(form, globex, own))

    assert response.status_code == 302
    assert Domain.objects.get(domain=own).tenant_id == globex.pk
    # spelt in capitals or with the root's dot, it is still the business's own
    domain_add_check(tenant=globex, domain=f"GLOBEX.{settings.BASE_DOMAIN}.")


def test_a_custom_domain_kept_from_a_higher_plan_does_not_block_other_changes(globex, support):
    # given a business that added a custom domain on Pro and then moved to Free
    _on_plan(globex, "pro")
    Domain.objects.create(domain="book.globex-clinic.example", tenant=globex)
    _on_plan(globex, "free")
    url, form = _change_page(support, globex)

    # when support renames the business, then the save goes through
    response = support.post(url, form | {"name": ["Globex Health"]})

    assert response.status_code == 302
    globex.refresh_from_db()
    assert globex.name == "Globex Health"


def test_the_refusal_names_the_feature_and_where_to_upgrade(globex):
    _on_plan(globex, "free")

    with pytest.raises(PlanLimitReached) as refused:
        domain_add_check(tenant=globex, domain="globex.example.org")

    error = refused.value
    assert (error.code, error.http_status) == ("PLAN_LIMIT", 402)
    details = {detail.field: detail.message for detail in error.details}
    assert details == {
        "limit": "custom_domain",
        "allowed": "false",
        "upgrade_url": "http://globex.localhost/dashboard/billing/",
    }
    # another business's subdomain is not this one's own
    with pytest.raises(PlanLimitReached):
        domain_add_check(tenant=globex, domain=f"acme.{settings.BASE_DOMAIN}")
