"""Unknown paths under /api/ answer the error envelope, whatever the method."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request

from apps.api.views.base import ApiView


@extend_schema(exclude=True)
class ApiNotFound(ApiView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    def dispatch_not_found(self, request: Request, *args: Any, **kwargs: Any) -> None:
        raise NotFound(_("There is no such API endpoint. See /api/docs/."))

    get = post = put = patch = delete = head = options = dispatch_not_found  # type: ignore[assignment]
