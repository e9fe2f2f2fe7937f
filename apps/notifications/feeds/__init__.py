"""Staff calendar feeds: a secret iCal subscription URL per resource, listing its confirmed
bookings. Part of apps.notifications; the CalendarFeed table is in its models.py."""
