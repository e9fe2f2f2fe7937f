"""Domain events of a booking, sent *inside* the transaction that made the change.

Receivers (notifications, webhooks, audit) write their outbox rows in that same
transaction, so an event is recorded if and only if the change commits. Bookings never
import the apps that react to them.

Every signal is sent with `booking=` (the saved Booking) and `actor=` (an
`apps.bookings.actors.ActorRef`); `booking_rescheduled` also carries
`previous_starts_at=` and `previous_ends_at=`, `booking_cancelled` carries `reason=`,
`booking_confirmed` carries `notify=False` when staff chose not to send the customer a
confirmation (reminders are still planned; absent means True), and
`booking_payment_requested` carries `url=` (a checkout staff send the customer to pay a
held booking).

`customer_erased` is about a customer, not a booking: it is sent with `customer=` (the
Customer, its contact details still readable), `booking_ids=` (every booking made for
them), `erasure=` (an `apps.bookings.customer_data.Erasure`: the pseudonym and what to
scrub) and `actor=`, inside the erasure's transaction *before* the contact details are
shredded (apps/bookings/customer_data.py). Receivers scrub what they hold about those
bookings, and may take from the bookings what a message already planned still needs.

A recurring series (apps/bookings/series.py) sends, after each occurrence's own events
and in the same transaction, `booking_series_confirmed` (every date confirmed, at once or
after the customer held them) with `series=`, `bookings=` (every occurrence, earliest
first), `actor=` and `notify=`, and `booking_series_cancelled` ("this
and the rest") with `bookings=` (the occurrences cancelled, earliest first), `actor=` and
`reason=`: receivers may gather what each occurrence planned into one message.
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
booking_payment_requested = Signal()
# A recurring series was booked, or cancelled from one date on: see the docstring.
booking_series_confirmed = Signal()
booking_series_cancelled = Signal()
# A customer's data is being erased (GDPR): see the module's docstring.
customer_erased = Signal()
