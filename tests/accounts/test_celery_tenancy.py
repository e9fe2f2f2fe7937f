"""A task sent inside a tenant runs in that tenant on a real worker process."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django_tenants.utils import schema_context

from apps.accounts.tasks import HEARTBEAT_CACHE_KEY, run_in_every_tenant
from config.celery import app
from config.request_id import set_request_id
from tests.workers import running_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db]


def _heartbeat_in(schema: str) -> dict[str, str] | None:
    with schema_context(schema):
        return cache.get(HEARTBEAT_CACHE_KEY)


def test_task_sent_inside_acme_runs_in_acme_on_a_real_worker(tmp_path):
    # given
    for schema in ("t_acme", "t_globex"):
        with schema_context(schema):
            cache.delete(HEARTBEAT_CACHE_KEY)
    with running_worker(tmp_path) as worker:
        # when
        set_request_id("req-acme-1")
        with schema_context("t_acme"):
            app.send_task("accounts.tenant_heartbeat", queue=worker.queue)
        beat = wait_for(lambda: _heartbeat_in("t_acme"), timeout=45)

        # then
        assert beat is not None, worker.log()
        assert beat["schema"] == "t_acme"
        assert beat["request_id"] == "req-acme-1"
        assert _heartbeat_in("t_globex") is None


def test_fan_out_reaches_every_ready_tenant_on_a_real_worker(tmp_path):
    for schema in ("t_acme", "t_globex"):
        with schema_context(schema):
            cache.delete(HEARTBEAT_CACHE_KEY)
    default_queue = app.conf.task_default_queue
    with running_worker(tmp_path) as worker:
        app.conf.task_default_queue = worker.queue
        try:
            sent = run_in_every_tenant("accounts.tenant_heartbeat")
        finally:
            app.conf.task_default_queue = default_queue

        assert sent >= 2
        acme = wait_for(lambda: _heartbeat_in("t_acme"), timeout=45)
        globex = wait_for(lambda: _heartbeat_in("t_globex"), timeout=45)
        assert acme is not None and acme["schema"] == "t_acme", worker.log()
        assert globex is not None and globex["schema"] == "t_globex", worker.log()
