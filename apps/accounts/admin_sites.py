"""The Django admin served on a tenant's own domain shows only that tenant's data;
platform-wide models stay on the root domain's `admin.site`."""

from django.contrib.admin import AdminSite


class TenantAdminSite(AdminSite):
    site_header = "TimeNest — tenant administration"
    site_title = "TimeNest tenant admin"
    index_title = "This business's data"


tenant_admin_site = TenantAdminSite(name="tenant_admin")
