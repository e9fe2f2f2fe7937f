"""What a provider can tell us about a message we may or may not have handed over."""

from __future__ import annotations

import enum


class DeliveryStatus(enum.Enum):
    # The provider has the message: the interrupted send succeeded.
    DELIVERED = "delivered"
    # The provider never got it: sending again cannot duplicate it.
    NOT_DELIVERED = "not_delivered"
    # The provider cannot be asked (most ESPs and SMS gateways).
    UNKNOWN = "unknown"
