"""Outbound webhooks: a business's endpoints, the events recorded for them in the booking's
own transaction, signed delivery with retries, the per-attempt log, replay and automatic
disabling. Part of apps.notifications, the capability that delivers what bookings announce
(email, SMS and webhooks); the tables live in the tenant's schema."""
