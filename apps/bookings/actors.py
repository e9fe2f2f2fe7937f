"""Who did something to a booking: a customer, a staff user, an API key or the system."""

from __future__ import annotations

from dataclasses import dataclass

from apps.bookings.models import Actor


@dataclass(frozen=True)
class ActorRef:
    type: str
    id: str = ""
    label: str = ""

    @classmethod
    def system(cls, label: str = "system") -> ActorRef:
        return cls(Actor.SYSTEM, "", label)

    @classmethod
    def customer(cls, customer_id: str = "", label: str = "customer") -> ActorRef:
        return cls(Actor.CUSTOMER, customer_id, label)

    @classmethod
    def staff(cls, user_id: str, label: str = "") -> ActorRef:
        return cls(Actor.STAFF, user_id, label)

    @classmethod
    def api_key(cls, key_id: str, label: str = "") -> ActorRef:
        return cls(Actor.API_KEY, key_id, label)

    @property
    def key(self) -> str:
        """Stable identity used to scope idempotency keys."""
        return f"{self.type}:{self.id}"
