"""``python -m gateway.shim``: serve the shim with uvicorn on the configured port."""

from __future__ import annotations

import uvicorn

from gateway.shim.app import create_app
from gateway.shim.config import ShimConfig


def main() -> None:
    config = ShimConfig()
    uvicorn.run(
        create_app(config),
        host=config.host,
        port=config.port,
        log_level="warning",
        proxy_headers=True,
        # Envoy in front owns connection handling; keep-alive matches its pool.
        timeout_keep_alive=75,
    )


if __name__ == "__main__":
    main()
