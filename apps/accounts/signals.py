"""Events of the accounts app. `tenant_settings_changed` is sent inside the transaction
that saved the tenant's booking policy, with `tenant=` and `changed=` (field names), so
listeners (e.g. reminder planning) act in the same transaction."""

from django.dispatch import Signal

tenant_settings_changed = Signal()
