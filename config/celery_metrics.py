"""A Celery worker's (or beat's) own Prometheus endpoint, and the task counters it serves.

The web's /metrics reads the multiprocess files of its own directory only. A worker
runs elsewhere (its own container, with as many replicas as wanted), so it serves what
its processes counted itself: the main process starts a small HTTP server when the
worker is ready (`worker_ready`, after the pool started: pool processes never serve, and
one forked later closes the listening socket it inherited), beat when it starts
(`beat_init`). Each Prometheus target is then one worker or beat, and sums across
targets count every task once.

- Where: CELERY_METRICS_PORT (unset or empty: no endpoint, as in tests and `make run`) on
  CELERY_METRICS_ADDRESS (default 127.0.0.1). docker/entrypoint.sh sets them for the
  worker and beat roles: port 9808 (WORKER_METRICS_PORT, BEAT_METRICS_PORT) on every
  interface of the container (BIND_ADDRESS); compose does not publish it.
- What: a worker's files in PROMETHEUS_MULTIPROC_DIR (its pool processes write there:
  config/metrics_files.py), else this process's registry (beat: one process). Never the
  scrape-time figures read from PostgreSQL and the broker, which the web serves once
  (config/metrics.py).
- Who may read: as /metrics (`scrape_refusal`): `Authorization: Bearer <METRICS_TOKEN>`
  when the token is set, else only a client on this machine (the peer address: nothing
  stands in front of this port).

Any path answers (Prometheus asks /metrics), GET only.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

from config.metrics_access import scrape_refusal
from config.metrics_files import ProcessFiles, multiproc_dir

logger = logging.getLogger(__name__)

PORT_ENV = "CELERY_METRICS_PORT"
ADDRESS_ENV = "CELERY_METRICS_ADDRESS"
DEFAULT_ADDRESS = "127.0.0.1"
_LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


# --- Task counters (every process that runs tasks: pool processes, or the worker itself) ----

_started: dict[str, float] = {}
_OUTCOMES = {"SUCCESS": "succeeded", "FAILURE": "failed", "RETRY": "retried"}


def task_started(task_id: str | None = None, **_: Any) -> None:
    """Celery's `task_prerun`."""
    if task_id:
        _started[task_id] = time.perf_counter()


def task_finished(
    task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any
) -> None:
    """Celery's `task_postrun`: one count per run, by the state it ended in."""
    from apps.core import metrics

    name = str(getattr(task, "name", None) or "unknown")
    outcome = _OUTCOMES.get(state or "", (state or "unknown").lower())
    metrics.celery_tasks_total.labels(task=name, outcome=outcome).inc()
    started = _started.pop(task_id, None) if task_id else None
    if started is not None:
        metrics.celery_task_seconds.labels(task=name).observe(time.perf_counter() - started)


# --- The endpoint -------------------------------------------------------------------------


def _peer_is_loopback(environ: dict[str, Any]) -> bool:
    try:
        address = ipaddress.ip_address(str(environ.get("REMOTE_ADDR") or ""))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in _LOOPBACK)


def _registry() -> CollectorRegistry:
    path = multiproc_dir()
    if not path:
        return REGISTRY
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ProcessFiles(path))
    return registry


def metrics_app() -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """The endpoint's WSGI application: the refusal of /metrics, then prometheus-client's
    exposition (text or OpenMetrics, gzip when asked)."""
    exposition = make_wsgi_app(_registry())

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        refused = scrape_refusal(
            str(environ.get("HTTP_AUTHORIZATION") or ""),
            loopback=lambda: _peer_is_loopback(environ),
        )
        if refused is not None:
            status, message = refused
            headers = [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")]
            if status == 401:
                headers.append(("WWW-Authenticate", 'Bearer realm="metrics"'))
            reason = "Unauthorized" if status == 401 else "Forbidden"
            start_response(f"{status} {reason}", headers)
            return [(message + "\n").encode()]
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [("Allow", "GET, HEAD")])
            return [b""]
        result: Iterable[bytes] = exposition(environ, start_response)
        return result

    return app


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds are not worth a log line each."""


_server: WSGIServer | None = None
_server_lock = threading.Lock()


def metrics_server_start(*, port: int, address: str = DEFAULT_ADDRESS) -> WSGIServer:
    """Serves this process's metrics on `address:port` from a daemon thread."""

    class Server(ThreadingWSGIServer):
        pass

    if ":" in address:
        Server.address_family = socket.AF_INET6
    server = make_server(address, port, metrics_app(), Server, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True).start()
    return server


def serve_from_environment(**_: Any) -> None:
    """Celery's `worker_ready` (the worker's main process) and `beat_init`: starts the
    endpoint when CELERY_METRICS_PORT names a port. A port that cannot be bound is
    logged, and the worker carries on without it (its health check does not depend on
    it; the scrape target shows down)."""
    global _server
    port = os.environ.get(PORT_ENV, "").strip()
    if not port:
        return
    address = os.environ.get(ADDRESS_ENV, "").strip() or DEFAULT_ADDRESS
    with _server_lock:
        if _server is not None:
            return
        try:
            _server = metrics_server_start(port=int(port), address=address)
        except (OSError, ValueError) as exc:
            logger.error(
                "metrics.server_failed",
                extra={"address": address, "port": port, "error": f"{type(exc).__name__}: {exc}"},
            )
            return
    logger.info("metrics.server_started", extra={"address": address, "port": int(port)})


def close_inherited_server(**_: Any) -> None:
    """Celery's `worker_process_init` (a pool process, just forked): a process forked
    after the endpoint started holds a copy of its listening socket; it never serves, so
    it lets go of it (the main process's socket stays open)."""
    global _server
    if _server is not None:
        _server.socket.close()
        _server = None


def serve_stop(**_: Any) -> None:
    """Celery's `worker_shutdown` / beat's end: stops answering before the process ends."""
    global _server
    with _server_lock:
        server, _server = _server, None
    if server is not None:
        server.shutdown()
        server.server_close()
