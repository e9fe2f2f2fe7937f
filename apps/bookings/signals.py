"""Domain events of a booking, sent *inside* the transaction that made the change.

Receivers (notifications, webhooks, audit) write their outbox rows in that same
transaction, so an event is recorded if and only if the change commits. Bookings never
import the apps that react to them.

Every signal is sent with `booking=` (the saved Booking) and `actor=` (an
`apps.bookings.actors.ActorRef`); `booking_rescheduled` also carries
`previous_starts_at=` and `previous_ends_at=`, `booking_cancelled` carries `reason=`.
"""

from django.dispatch import Signal

booking_held = Signal()
booking_confirmed = Signal()
booking_cancelled = Signal()
booking_rescheduled = Signal()
booking_expired = Signal()
booking_completed = Signal()
booking_no_show = Signal()
# Money: keyword arguments `amount` (Decimal) and `currency` besides `booking`, `actor`.
booking_paid = Signal()
booking_refunded = Signal()
