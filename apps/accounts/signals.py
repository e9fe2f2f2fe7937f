"""Events of the accounts app.

`tenant_settings_changed` is sent inside the transaction that saved the tenant's booking
policy, with `tenant=` and `changed=` (field names), so listeners (e.g. reminder
planning) act in the same transaction.

`admin_request_served` is sent after an admin site let a platform staff member's request
in, with `request=` and `site=` (the site's name), and what the view noted about it
(`admin_sites.support_access_note`: `reason=`, `details=`, `path=`); the audit app keeps
the support-access trail from it (accounts sits below audit, so it announces rather than
calls).

`tenant_status_changed` is sent inside the transaction that moved a business's status
(billing's plan history: payments, trials, support's suspension and reactivation), with
`tenant=`, `from_status=` and `to_status=`; `tenant_went_live` inside the one that
marked it live, with `tenant=`. The public directory lists a business again from them."""

from django.dispatch import Signal

tenant_settings_changed = Signal()
admin_request_served = Signal()
tenant_status_changed = Signal()
tenant_went_live = Signal()
