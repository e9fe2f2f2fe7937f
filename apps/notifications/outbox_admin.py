"""What the tenant admin of both outbox tables (messages and webhook deliveries) shares:
rows are shown read-only and never added or deleted by hand (services and workers move
them), and "send again" actions requeue each selected row through a service, reporting
the rows it refused and why."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from apps.core.errors import DomainError


class OutboxAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def requeue_each(
        self,
        request: HttpRequest,
        ids: Iterable[Any],
        *,
        requeue: Callable[[Any], object],
        refused: type[DomainError],
        queued_message: str,
        refused_message: str,
    ) -> None:
        """Calls `requeue(id)` for each row; `queued_message` and `refused_message` are
        formatted with `count` (and `reasons`, the distinct refusals)."""
        queued, reasons = 0, []
        for row_id in ids:
            try:
                requeue(row_id)
            except refused as exc:
                reasons.append(exc.message)
            else:
                queued += 1
        if queued:
            self.message_user(request, queued_message.format(count=queued))
        if reasons:
            self.message_user(
                request,
                refused_message.format(count=len(reasons), reasons="; ".join(sorted(set(reasons)))),
                level=messages.WARNING,
            )
