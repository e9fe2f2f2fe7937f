"""Where ratings enter the directory. The index carries each listed person's or asset's
rating average and count (0 and 0 until customers' reviews exist). A reviews app fills
them in by registering a provider at start-up (`ratings_provider_register`), the way
`core.personal_data` asks apps for their sections: the indexer asks it, inside the
business's schema, for the summaries of the resources it is indexing. A review written
later asks for that business's rows to be rebuilt (`refresh.directory_refresh_request`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class RatingSummary:
    average: Decimal = Decimal("0")
    count: int = 0
    # The latest shown reviews, newest first, as JSON-ready dicts (the index keeps them
    # so a search shows them without visiting the business's schema).
    latest: tuple[dict[str, Any], ...] = ()


RatingsProvider = Callable[[Iterable[UUID]], dict[UUID, RatingSummary]]

_provider: RatingsProvider | None = None


def ratings_provider_register(provider: RatingsProvider) -> None:
    global _provider
    _provider = provider


def ratings_for(resource_ids: Iterable[UUID]) -> dict[UUID, RatingSummary]:
    """The summary of each resource (absent: no reviews yet)."""
    return _provider(resource_ids) if _provider is not None else {}
