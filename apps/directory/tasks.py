"""Celery adapters of the directory's index: ids in, one service call, safe twice."""

from __future__ import annotations

from celery import shared_task

from apps.directory.refresh import directory_dispatch_due, directory_refresh_run, directory_repair


@shared_task(name="directory.refresh", ignore_result=True)
def refresh(refresh_id: str) -> str:
    return directory_refresh_run(refresh_id=refresh_id)


@shared_task(name="directory.dispatch_due", ignore_result=True)
def dispatch_due() -> int:
    """Beat (public), every DIRECTORY_DISPATCH_INTERVAL_SECONDS."""
    return directory_dispatch_due()


@shared_task(name="directory.repair", ignore_result=True)
def repair() -> dict[str, int]:
    """Beat (public), every 10 minutes."""
    return directory_repair().__dict__
