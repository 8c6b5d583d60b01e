"""``python -m gateway.shim [--port N …]``: serve the shim with uvicorn (``--help`` lists all)."""

from __future__ import annotations

import uvicorn

from gateway.shim.app import create_app
from gateway.shim.config import ShimConfig


def main() -> None:
    config = ShimConfig.from_argv()
    uvicorn.run(
        create_app(config),
        host=config.host,
        port=config.port,
        log_level="warning",
        proxy_headers=True,
        # Envoy in front owns client connections; its pooled upstream connections to the
        # shim may idle longer than its own client idle timeout.
        timeout_keep_alive=75,
    )


if __name__ == "__main__":
    main()
