"""Notifications: delivering what bookings announce, through outboxes written in the
booking's own transaction.

- outbox.py: the engine both outboxes run on (claim once, dispatch, backoff, recovery,
  enqueue on commit);
- messages/: customer emails and text messages (the Notification outbox);
- webhooks/: signed webhook deliveries to the business's endpoints;
- feeds/: staff calendar feeds (a resource's confirmed bookings as iCal);
- selectors.py / services.py: the tenant's notification preferences.

The tables of all parts are in models.py (webhooks' in webhooks/models.py), so the app
keeps one set of migrations."""
