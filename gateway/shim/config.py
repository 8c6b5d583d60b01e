"""What the shim is told at start: explicit values, not a second set of settings.

``darkroom serve`` derives each from the one settings source (server/config.py) and
passes it on the command line (``python -m gateway.shim --help``), so a setting is spelled
and defaulted in one place only; see docs/configuration.md.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ShimConfig:
    grpc_target: str = "127.0.0.1:50051"
    host: str = "127.0.0.1"
    port: int = 8081
    image_route: str = "image"
    video_route: str = "clip"
    # Largest message or buffered body: a base64 source of the largest upload.
    max_message_bytes: int = 270 * 1024 * 1024
    spool_dir: Path = Path("var/spool")
    call_timeout_s: float = 600.0
    # Prometheus /metrics, on loopback only; serve passes metrics_port + 1 (0: a free one).
    metrics_port: int = 9465
    # Form limits (multipart and urlencoded): fields other than the file.
    max_fields: int = 64
    max_field_bytes: int = 1024 * 1024

    @classmethod
    def from_argv(cls, argv: list[str] | None = None) -> ShimConfig:
        default = cls()
        parser = argparse.ArgumentParser(
            prog="python -m gateway.shim", description="Darkroom's Chevereto REST shim."
        )
        parser.add_argument(
            "--grpc-target",
            default=default.grpc_target,
            help="the gRPC server, or several: ipv4:HOST:PORT,HOST:PORT (or a DNS name with "
            "several addresses); calls are spread over those whose health says SERVING",
        )
        parser.add_argument("--host", default=default.host)
        parser.add_argument("--port", type=int, default=default.port)
        parser.add_argument("--image-route", default=default.image_route)
        parser.add_argument("--video-route", default=default.video_route)
        parser.add_argument("--max-message-bytes", type=int, default=default.max_message_bytes)
        parser.add_argument("--spool-dir", type=Path, default=default.spool_dir)
        parser.add_argument("--call-timeout-s", type=float, default=default.call_timeout_s)
        parser.add_argument("--metrics-port", type=int, default=default.metrics_port)
        args = parser.parse_args(argv)
        return cls(**vars(args))
