"""Customers' reviews of a completed booking: one per booking, written through a signed
link sent when the booking is marked completed, editable by its author for 14 days; the
business replies once and may report abuse; support hides (with a reason, audited). The
ratings feed the public directory (apps/directory/ratings.py)."""
