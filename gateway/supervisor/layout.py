"""Where each process of ``darkroom serve`` listens, and what each one is told.

Metrics, all on 127.0.0.1, from ``metrics_port`` (M) on: the first server replica on M,
the shim on M+1 and Envoy's admin on M+2, as with one replica; replicas 2..N follow on
M+3..M+N+1. So adding replicas never moves a port a scrape config already names. With
M = 0 every one is a free port (printed, and in the ready file).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
from dataclasses import dataclass

from gateway.envoy.render import Address, S3Media
from server.config import ServerConfig

REPLICA = "grpc server"
LAST_PORT = 65_535


def replica_name(index: int) -> str:
    """The child's name, from 1: replica 1 keeps the name a lone server always had."""
    return REPLICA if index == 1 else f"{REPLICA} {index}"


def metrics_name(index: int) -> str:
    return "server" if index == 1 else f"server {index}"


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct free ports: all held open while they are picked."""
    with contextlib.ExitStack() as held:
        ports = []
        for _ in range(count):
            probe = held.enter_context(socket.socket())
            probe.bind((host, 0))
            ports.append(int(probe.getsockname()[1]))
        return ports


@dataclass(frozen=True)
class Layout:
    grpc_ports: tuple[int, ...]  # replica i (from 1) listens on grpc_ports[i - 1]
    server_metrics: tuple[int, ...]
    shim_port: int
    shim_metrics: int
    envoy_admin: int  # 0: Envoy picks one and writes it to its admin address file

    @property
    def replicas(self) -> int:
        return len(self.grpc_ports)

    @property
    def grpc_upstreams(self) -> list[Address]:
        return [Address("127.0.0.1", port) for port in self.grpc_ports]

    @property
    def grpc_target(self) -> str:
        """The shim's target: every replica, balanced by gRPC itself."""
        return "ipv4:" + ",".join(str(upstream) for upstream in self.grpc_upstreams)


def plan(config: ServerConfig, replicas: int) -> Layout:
    first = config.metrics_port
    if first == 0:
        ports = free_ports(2 * replicas + 2)
        grpc, server_metrics = ports[:replicas], ports[replicas : 2 * replicas]
        shim, shim_metrics = ports[2 * replicas :]
        return Layout(tuple(grpc), tuple(server_metrics), shim, shim_metrics, 0)
    if first + replicas + 1 > LAST_PORT:
        raise ValueError(
            f"metrics_port {first} leaves no room for {replicas} replicas: they need "
            f"{first}..{first + replicas + 1}"
        )
    *grpc, shim = free_ports(replicas + 1)
    fixed = (first, *range(first + 3, first + 2 + replicas))
    return Layout(tuple(grpc), fixed, shim, first + 1, first + 2)


def _without_settings() -> dict[str, str]:
    # Neither Darkroom's settings nor any AWS credential of the caller's leaks into a
    # child that is not told them on purpose.
    return {k: v for k, v in os.environ.items() if not k.startswith(("DARKROOM_", "AWS_"))}


def server_env(config: ServerConfig, grpc_port: int, metrics_port: int) -> dict[str, str]:
    """Every resolved setting as an explicit variable: the child cannot read it otherwise."""
    resolved = config.model_copy(
        update={
            "data_dir": config.data_dir.resolve(),
            "media_root": config.media_dir.resolve(),
            "secret_file": config.secret_path.resolve(),
            "grpc_host": "127.0.0.1",
            "grpc_port": grpc_port,
            "metrics_port": metrics_port,
            "port_file": None,
        }
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DARKROOM_")}
    for name, value in resolved.model_dump(mode="json").items():
        if value is not None:
            env[f"DARKROOM_{name.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    if config.s3_secret_access_key is not None:
        # A dump masks secrets; the server needs the value itself.
        env["DARKROOM_S3_SECRET_ACCESS_KEY"] = config.s3_secret
    return env


def shim_env() -> dict[str, str]:
    return _without_settings()


def envoy_env(config: ServerConfig) -> dict[str, str]:
    """With S3 media, the key Envoy signs its reads with, in the variables its
    environment credential provider reads (and in no file)."""
    env = _without_settings()
    if config.storage == "s3":
        env["AWS_ACCESS_KEY_ID"] = config.s3_access_key_id
        env["AWS_SECRET_ACCESS_KEY"] = config.s3_secret
    return env


def s3_media(config: ServerConfig) -> S3Media | None:
    if config.storage != "s3":
        return None
    return S3Media(config.s3_endpoint, config.s3_bucket, config.s3_region, config.s3_path_style)


def shim_argv(config: ServerConfig, layout: Layout) -> list[str]:
    return [
        sys.executable, "-m", "gateway.shim",
        "--grpc-target", layout.grpc_target, "--port", str(layout.shim_port),
        "--metrics-port", str(layout.shim_metrics),
        "--image-route", config.image_route, "--video-route", config.video_route,
        "--max-message-bytes", str(config.max_message_bytes),
        "--spool-dir", str(config.spool_dir.resolve()),
    ]  # fmt: skip
