"""Customer messages (email and SMS) about bookings: planning them into the outbox in the
booking's own transaction, what they say, and sending each one exactly once on the outbox
engine (apps/notifications/outbox.py). The Notification table is in the app's models.py."""
