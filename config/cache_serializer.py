"""How django-redis stores cache values: JSON, never pickle (an entry someone manages to
write into Redis is data, not code run by whoever reads it).

Stricter than django-redis' own JSONSerializer: only JSON's own types are written. A
datetime, UUID, Decimal or model raises TypeError at `cache.set` instead of coming back
as a string, so each cache user converts its values explicitly and reads back what it
meant (apps/core/cache_values.py for model rows). An entry that is not JSON (pickled by
a release before this one, or written by something else) reads as absent (None).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django_redis.serializers.base import BaseSerializer

logger = logging.getLogger(__name__)


class StrictJSONSerializer(BaseSerializer):
    def dumps(self, value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()

    def loads(self, value: bytes) -> Any:
        try:
            return json.loads(value)
        except ValueError:  # UnicodeDecodeError and JSONDecodeError alike
            logger.warning("cache.entry_unreadable", extra={"bytes": len(value)})
            return None
