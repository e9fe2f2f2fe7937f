"""`?page=&per_page=` pagination: `{"data": […], "pagination": {"page", "per_page",
"total", "total_pages"}}`. per_page is capped; a page past the end is empty."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from apps.core.errors import FieldError, ValidationFailed

MAX_PAGE = 100_000

PAGE_PARAMETERS = [
    OpenApiParameter("page", OpenApiTypes.INT, description="1-based page number."),
    OpenApiParameter(
        "per_page",
        OpenApiTypes.INT,
        description="Items per page (default 20, at most 100).",
    ),
]


def _whole(params: Mapping[str, Any], name: str, default: int, maximum: int) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    text = str(raw).strip()
    if not text.isdigit() or not 1 <= int(text) <= maximum:
        raise ValidationFailed(
            _("The page is not valid."),
            [FieldError(name, _("Give a whole number from 1 to %(most)s.") % {"most": maximum})],
        )
    return int(text)


def paginate(
    items: QuerySet[Any] | Sequence[Any],
    *,
    params: Mapping[str, Any],
    serializer: type[serializers.BaseSerializer],
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    max_per_page = int(getattr(settings, "API_MAX_PER_PAGE", 100))
    page = _whole(params, "page", 1, MAX_PAGE)
    per_page = min(
        _whole(params, "per_page", int(getattr(settings, "API_DEFAULT_PER_PAGE", 20)), 10_000),
        max_per_page,
    )
    total = items.count() if isinstance(items, QuerySet) else len(items)
    offset = (page - 1) * per_page
    chunk = list(items[offset : offset + per_page]) if offset < total else []
    return {
        "data": serializer(chunk, many=True, context=dict(context or {})).data,
        "pagination": {
            "page": page,
            "per_page": per_page,
            "total": total,
            "total_pages": math.ceil(total / per_page) if total else 0,
        },
    }
