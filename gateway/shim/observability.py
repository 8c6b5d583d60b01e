"""The shim, observed: one JSON access-log line and the route metrics per request.

The request id is the ``x-request-id`` Envoy put on the request (a fresh one when the
shim is called directly); the gRPC client passes it on as metadata, so the shim's line
and the server's line of one request carry the same id. The line names the route by
its template (``/image/{id}/delete/{token}``), never the path itself, and never the
query string, headers or form: an API key (X-API-Key, ``key=``) or a delete token
cannot reach the log. The caller's user id is what the server answered in the call's
trailing metadata.

Metrics are served on a loopback port of their own (``--metrics-port``), like the
server's: see server/adapters/metrics.py for why not through Envoy. This module is the
one of the shim that imports prometheus_client.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Histogram, make_wsgi_app
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID = "x-request-id"
# What the server sends back once it knows the key (server/api/interceptors.py).
CALLER_KIND = "darkroom-caller"
USER_ID = "darkroom-user-id"
_REQUEST_ID_SHAPE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Envoy's health check, once a second: counted, not logged.
_UNLOGGED_ROUTES = frozenset({"/healthz"})
# An upload through the shim may stream for minutes; a page takes milliseconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


@dataclass
class RequestNote:
    """What one request has told so far; the gRPC client and the envelope fill it in."""

    request_id: str
    grpc_code: str | None = None
    chevereto_code: int | None = None
    caller: str | None = None
    user_id: int | None = None


# The note object is shared, not the variable: tasks the handler starts (a streamed
# upload's call) copy the context and so fill in the same note.
_current: contextvars.ContextVar[RequestNote | None] = contextvars.ContextVar(
    "darkroom_shim_request", default=None
)


def request_id() -> str | None:
    note = _current.get()
    return note.request_id if note else None


def note_chevereto(code: int) -> None:
    note = _current.get()
    if note is not None:
        note.chevereto_code = code


def note_call(grpc_code: str, trailers: Iterable[Any] | None) -> None:
    """A gRPC call ended: its code, and the caller the server said the key belongs to."""
    note = _current.get()
    if note is None:
        return
    note.grpc_code = grpc_code
    for key, value in trailers or ():
        if key not in (CALLER_KIND, USER_ID):
            continue  # the rest may be binary (grpc-status-details-bin)
        text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
        if key == CALLER_KIND:
            note.caller = text[:32]
        elif text.isdigit():
            note.user_id = int(text)


_STDERR = logging.StreamHandler(sys.stderr)
_STDERR.setFormatter(logging.Formatter("%(message)s"))


def access_logger() -> logging.Logger:
    """``darkroom.shim.access``: bare JSON lines on stderr, whatever else is configured."""
    logger = logging.getLogger("darkroom.shim.access")
    if _STDERR not in logger.handlers:
        logger.addHandler(_STDERR)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


class ShimMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "darkroom_shim_requests",
            "Requests answered, by route template, method, HTTP status and Chevereto code.",
            ["route", "method", "status", "chevereto_code"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "darkroom_shim_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, per route template.",
            ["route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self._http: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def serve(self, host: str, port: int) -> int:
        self._http = make_server(
            host, port, make_wsgi_app(self.registry), _MetricsServer, handler_class=_Quiet
        )
        # prometheus_client's own start_http_server polls for shutdown every 0.5 s, which
        # every stop (and every in-process test) would wait out.
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return int(self._http.server_port)

    def close(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._http = self._thread = None


def _incoming_request_id(scope: Scope) -> str:
    for key, value in scope.get("headers") or ():
        if key == b"x-request-id":
            text = str(value.decode("latin-1"))
            if _REQUEST_ID_SHAPE.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


class Observed:
    """Pure ASGI middleware (no BaseHTTPMiddleware): the handler runs in this task."""

    def __init__(
        self, app: ASGIApp, metrics: ShimMetrics, logger: logging.Logger | None = None
    ) -> None:
        self._app = app
        self._metrics = metrics
        self._log = logger or access_logger()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        note = RequestNote(_incoming_request_id(scope))
        token = _current.set(note)
        started = time.perf_counter()
        status = 0

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, sent)
        finally:
            _current.reset(token)
            self._finished(scope, note, status, time.perf_counter() - started)

    def _finished(self, scope: Scope, note: RequestNote, status: int, seconds: float) -> None:
        # The router leaves the matched route in the scope; its template, never the path.
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        method = scope.get("method", "")
        method = method if method in _METHODS else "other"
        chevereto = "none" if note.chevereto_code is None else str(note.chevereto_code)
        self._metrics.requests.labels(route, method, str(status), chevereto).inc()
        self._metrics.duration.labels(route).observe(seconds)
        if route in _UNLOGGED_ROUTES:
            return
        line = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "component": "shim",
            "request_id": note.request_id,
            "method": method,
            "route": route,
            "status": status,
            "caller": note.caller,
            "user_id": note.user_id,
            "grpc_code": note.grpc_code,
            "chevereto_code": note.chevereto_code,
            "duration_ms": round(seconds * 1000, 3),
        }
        self._log.info(json.dumps(line))


class _MetricsServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # a scrape every few seconds is no news
