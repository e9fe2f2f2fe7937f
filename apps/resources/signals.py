"""Events of the resources app that other apps react to (dependencies point one way:
resources does not know who rebuilds slot grids)."""

from django.dispatch import Signal

# Sent inside the transaction with `resource_ids` (list of UUID) whenever something that
# shapes those resources' slot grids changed: a new resource, a move to another location,
# a reactivation, a location's time zone, a service's booking horizon.
schedule_changed = Signal()
