"""Events of the calendars app.

`slots_materialized` is sent after a materialization changed slot grids (slots created,
removed or blocked), in the business's schema, with `resource_ids=` (the resources it
ran for): their free times may have moved. A materialization that changed nothing sends
nothing. Listeners above (the public directory) refresh what they derive from slots."""

from django.dispatch import Signal

slots_materialized = Signal()
