"""A real HTTP receiver for webhook tests: http.server on 127.0.0.1 (random port) in a
thread, recording every request and answering with the statuses a test queues."""

from __future__ import annotations

import json
import ssl
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # Refused TLS handshakes are what some tests expect; keep the output clean.
        return


class WebhookReceiver:
    """`tls`: serve https with this server context; `name`: the host name in `url`."""

    def __init__(self, tls: ssl.SSLContext | None = None, name: str = "127.0.0.1") -> None:
        self.name = name
        self.tls = tls
        self.requests: list[ReceivedRequest] = []
        self._statuses: deque[int] = deque()
        self.default_status = 200
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append(
                        ReceivedRequest(
                            path=self.path,
                            headers={k.lower(): v for k, v in self.headers.items()},
                            body=body,
                        )
                    )
                    status = (
                        receiver._statuses.popleft()
                        if receiver._statuses
                        else receiver.default_status
                    )
                answer = b'{"received": true}' if status < 300 else b"receiver is down"
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.name}:{self.server.server_address[1]}/hooks/timenest"

    def answer(self, *statuses: int) -> None:
        """The next requests get these statuses, in order; later ones the default."""
        with self._lock:
            self._statuses.extend(statuses)

    def start(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def types(self) -> list[str]:
        return [request.payload["type"] for request in self.requests]
