"""The gRPC server's Prometheus metrics: the one server module that imports prometheus_client.

They are served on a loopback port of their own (setting ``metrics_port``), as Prometheus
scrapes any process: the scrape path is not public, goes through no proxy and needs no
key, so no key handling can leak into it and a scrape keeps working while Envoy or the
shim is being restarted. The services see only the ``UploadMetrics`` port, the
interceptor only ``rpc_finished``; each server gets a registry of its own, so several
servers in one process (tests) do not collide.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app

from server.adapters.workers import WorkerPool
from server.ports import UploadStage

log = logging.getLogger(__name__)

# Whole calls: a WhoAmI takes milliseconds, a large video upload minutes.
CALL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
# One stage of one upload: a database insert takes a millisecond, a remux a minute.
STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120)


class ServerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self._calls = Counter(
            "darkroom_grpc_requests",
            "gRPC calls handled, by method and outcome (gRPC code, Chevereto code).",
            ["service", "method", "grpc_code", "chevereto_code"],
            registry=r,
        )
        self._call_seconds = Histogram(
            "darkroom_grpc_request_duration_seconds",
            "Time from a call's arrival to its answer, per method.",
            ["service", "method"],
            buckets=CALL_BUCKETS,
            registry=r,
        )
        self._uploads = Counter(
            "darkroom_uploads",
            "Uploads that reached the pipeline (authenticated), by outcome (Chevereto "
            "code, 200 = stored), reason, media kind and sniffed format.",
            ["outcome", "reason", "kind", "format"],
            registry=r,
        )
        self._stages = Histogram(
            "darkroom_upload_stage_duration_seconds",
            "Time one stage of one upload took (spool, sniff, probe, decode, strip, "
            "variants, store, record), failed attempts included.",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=r,
        )
        self._received = Counter(
            "darkroom_upload_received_bytes", "Bytes of uploads spooled.", registry=r
        )
        self._stored = Counter(
            "darkroom_upload_stored_bytes",
            "Bytes written to the blob store for uploads kept (file and derivatives).",
            registry=r,
        )
        self._flood = Counter(
            "darkroom_flood_refusals",
            "Uploads refused by flood protection, by the window whose limit was hit.",
            ["window"],
            registry=r,
        )
        self._reaped = Counter(
            "darkroom_reaper_deleted_media", "Expired media deleted by the reaper.", registry=r
        )
        self._pool_gauges = (
            Gauge("darkroom_worker_queue_depth", "Jobs waiting for a worker.", registry=r),
            Gauge("darkroom_worker_busy", "Workers running a job.", registry=r),
            Gauge("darkroom_workers", "Workers in the CPU pool.", registry=r),
        )
        self._http: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    # --- the UploadMetrics port ---------------------------------------------------------

    @contextmanager
    def stage(self, stage: UploadStage) -> Iterator[None]:
        with self._stages.labels(stage).time():
            yield

    def upload_finished(self, outcome: str, reason: str, kind: str, media_format: str) -> None:
        self._uploads.labels(outcome, reason, kind, media_format).inc()

    def bytes_received(self, count: int) -> None:
        self._received.inc(count)

    def bytes_stored(self, count: int) -> None:
        self._stored.inc(count)

    def flood_refused(self, window: str) -> None:
        self._flood.labels(window).inc()

    def expired_deleted(self, count: int) -> None:
        self._reaped.inc(count)

    # --- the interceptor and the pool ---------------------------------------------------

    def rpc_finished(
        self, service: str, method: str, grpc_code: str, chevereto_code: str, seconds: float
    ) -> None:
        self._calls.labels(service, method, grpc_code, chevereto_code).inc()
        self._call_seconds.labels(service, method).observe(seconds)

    def watch_pool(self, pool: WorkerPool) -> None:
        # Read at scrape time: nothing to update on the upload path.
        queued, busy, workers = self._pool_gauges
        queued.set_function(lambda: pool.queued)
        busy.set_function(lambda: pool.busy)
        workers.set_function(lambda: pool.size)

    # --- serving ------------------------------------------------------------------------

    def serve(self, host: str, port: int) -> int:
        """Serve /metrics on ``host:port`` (0 = a free port) from a thread; the bound port."""
        self._http = make_server(
            host, port, make_wsgi_app(self.registry), _MetricsServer, handler_class=_Quiet
        )
        # prometheus_client's own start_http_server polls for shutdown every 0.5 s, which
        # every stop (and every in-process test) would wait out.
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        bound = int(self._http.server_port)
        log.info("metrics on http://%s:%d/metrics", host, bound)
        return bound

    def close(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._http = self._thread = None


class _MetricsServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # a scrape every few seconds is no news
