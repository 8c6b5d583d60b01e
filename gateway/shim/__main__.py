"""``python -m gateway.shim [--port N …]``: serve the shim with uvicorn (``--help`` lists all)."""

from __future__ import annotations

import sys

import uvicorn

from gateway.shim.app import create_app
from gateway.shim.config import ShimConfig
from gateway.shim.observability import ShimMetrics


def main() -> None:
    config = ShimConfig.from_argv()
    metrics = ShimMetrics()
    # Loopback only: metrics are for a local scraper, never public.
    bound = metrics.serve("127.0.0.1", config.metrics_port)
    print(f"darkroom shim: metrics on http://127.0.0.1:{bound}/metrics", file=sys.stderr)
    try:
        uvicorn.run(
            create_app(config, metrics=metrics),
            host=config.host,
            port=config.port,
            log_level="warning",
            proxy_headers=True,
            # Envoy in front owns client connections; its pooled upstream connections to
            # the shim may idle longer than its own client idle timeout.
            timeout_keep_alive=75,
        )
    finally:
        metrics.close()


if __name__ == "__main__":
    main()
