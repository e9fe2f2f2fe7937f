"""Events of the accounts app.

`tenant_settings_changed` is sent inside the transaction that saved the tenant's booking
policy, with `tenant=` and `changed=` (field names), so listeners (e.g. reminder
planning) act in the same transaction.

`admin_request_served` is sent after an admin site let a platform staff member's request
in, with `request=` and `site=` (the site's name), and what the view noted about it
(`admin_sites.support_access_note`: `reason=`, `details=`, `path=`); the audit app keeps
the support-access trail from it (accounts sits below audit, so it announces rather than
calls)."""

from django.dispatch import Signal

tenant_settings_changed = Signal()
admin_request_served = Signal()
