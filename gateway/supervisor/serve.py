"""``darkroom serve``: the gRPC server (N replicas), the shim and Envoy as one service.

Starts them as child processes on internal ports, waits until each is ready and prints
where to go. While running it restarts any child that exits or is killed, each on its
own (see children.py for the back-off): a replica's crash leaves the others serving, and
Envoy and the shim send its share to them until it is back. On Ctrl-C / SIGTERM it
drains: every replica goes NOT_SERVING at once and finishes its in-flight calls within
the grace period while Envoy, still up, answers new requests with 503 and Retry-After;
then the shim and Envoy stop.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from threading import Event
from types import FrameType

from pydantic import ValidationError

from gateway.envoy.descriptor import write_descriptor_set
from gateway.envoy.render import EnvoyPorts, render
from gateway.supervisor.children import Child, Children, GaveUp
from gateway.supervisor.layout import (
    Layout,
    envoy_env,
    metrics_name,
    plan,
    replica_name,
    s3_media,
    server_env,
    shim_argv,
    shim_env,
)
from gateway.supervisor.probes import (
    envoy_admin,
    envoy_binary,
    envoy_healthy_hosts,
    envoy_listen_port,
    envoy_ready,
    free_port,
    grpc_serving,
    http_ok,
)
from server.config import ServerConfig

READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 15.0
POLL_S = 0.2


def _log(message: str) -> None:
    print(f"darkroom: {message}", file=sys.stderr, flush=True)


def resolve_config(host: str | None, port: int | None, replicas: int | None = None) -> ServerConfig:
    """The settings as the server reads them, with a free port chosen if asked for."""
    overrides: dict[str, object] = {}
    if host is not None:
        overrides["listen_host"] = host
    if port is not None:
        overrides["listen_port"] = port
    if replicas is not None:
        overrides["replicas"] = replicas
    config = ServerConfig(**overrides)  # type: ignore[arg-type]
    if config.listen_port == 0:
        # Chosen before anything starts, so every child and every URL agrees on it.
        overrides["listen_port"] = free_port(config.listen_host)
        config = ServerConfig(**overrides)  # type: ignore[arg-type]
    return config


class Stopping(Exception):
    """SIGINT or SIGTERM arrived while the service was still starting."""


def _wait_until(children: Children, what: str, ready: Callable[[], bool], stop: Event) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not ready():
        if stop.is_set():
            raise Stopping()
        dead = [child.name for child in children.dead()]
        if dead:
            raise RuntimeError(f"{', '.join(dead)} exited while waiting for {what}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} was not ready within {READY_TIMEOUT_S:.0f} s")
        time.sleep(0.05)


def _envoy_config(config: ServerConfig, layout: Layout, run_dir: Path) -> Path:
    s3 = s3_media(config)
    path = run_dir / "envoy.yaml"
    path.write_text(
        render(
            EnvoyPorts(
                config.listen_host, config.listen_port, layout.envoy_admin,
                layout.grpc_ports[0], layout.shim_port,
            ),
            descriptor=write_descriptor_set(run_dir / "darkroom.binpb"),
            media_root=None if s3 else config.media_dir.resolve(),
            s3=s3,
            max_body_bytes=config.max_message_bytes,
            idle_timeout_s=config.http_idle_timeout_s,
            grpc_upstreams=layout.grpc_upstreams,
        )
    )  # fmt: skip
    return path


def serve(config: ServerConfig, ready_file: Path | None) -> int:
    data_dir = config.data_dir.resolve()
    media_root = config.media_dir.resolve()
    run_dir = data_dir / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    if config.storage == "local":
        media_root.joinpath("images").mkdir(parents=True, exist_ok=True)

    host = config.listen_host
    try:
        layout = plan(config, config.replicas)
    except ValueError as invalid:
        _log(f"invalid settings: {invalid}")
        return 2
    envoy_config = _envoy_config(config, layout, run_dir)
    admin_path = run_dir / "envoy-admin.address"
    admin_path.unlink(missing_ok=True)

    children = Children(_log)
    stop = Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    envoy = [
        envoy_binary(), "-c", str(envoy_config), "--disable-hot-restart",
        "--log-level", "warn",
        # Quiet the start-up notes about work-in-progress APIs (file_server).
        "--component-log-level", "misc:error,main:error",
        "--admin-address-path", str(admin_path),
    ]  # fmt: skip
    replicas = range(1, layout.replicas + 1)

    def metrics_urls() -> dict[str, str]:
        # Envoy's admin address is re-read: with metrics_port 0 a restarted Envoy picks
        # a new one.
        return {
            **{
                metrics_name(i): f"http://127.0.0.1:{layout.server_metrics[i - 1]}/metrics"
                for i in replicas
            },
            "shim": f"http://127.0.0.1:{layout.shim_metrics}/metrics",
            "envoy": f"http://{envoy_admin(admin_path)}/stats/prometheus",
        }

    def write_ready(listen_port: int) -> None:
        if ready_file is None:
            return
        url = f"http://{host}:{listen_port}/"
        # Rewritten after each restart while others read it: replaced whole, never seen
        # half written.
        partial = ready_file.with_name(f".{ready_file.name}.partial")
        partial.write_text(json.dumps({
            "url": url, "listen_port": listen_port, "envoy_admin": envoy_admin(admin_path),
            "grpc_port": layout.grpc_ports[0], "grpc_ports": list(layout.grpc_ports),
            "replicas": layout.replicas, "shim_port": layout.shim_port,
            "metrics": metrics_urls(), "storage": config.storage,
            "media_root": str(media_root), "public_base_url": config.public_base_url,
            "pids": {child.name: child.pid for child in children.members},
        }))  # fmt: skip
        partial.replace(ready_file)

    def start_replica(i: int) -> None:
        env = server_env(config, layout.grpc_ports[i - 1], layout.server_metrics[i - 1])
        children.start(replica_name(i), [sys.executable, "-m", "server", "server"], env)

    def wait_serving(i: int) -> None:
        target = f"127.0.0.1:{layout.grpc_ports[i - 1]}"
        what = "the gRPC server" if layout.replicas == 1 else f"gRPC server replica {i}"
        _wait_until(children, what, lambda: grpc_serving(target), stop)

    try:
        # Replica 1 alone first: a first start creates the schema, the secret and the id
        # salt, which the others then find made instead of racing to make them.
        start_replica(1)
        wait_serving(1)
        for i in replicas[1:]:
            start_replica(i)
        children.start("shim", shim_argv(config, layout), shim_env())
        children.start("envoy", envoy, envoy_env(config))
        for i in replicas[1:]:
            wait_serving(i)
        shim_health = f"http://127.0.0.1:{layout.shim_port}/healthz"
        _wait_until(children, "the shim", lambda: http_ok(shim_health), stop)
        _wait_until(children, "envoy", lambda: envoy_ready(admin_path), stop)
        admin = envoy_admin(admin_path)
        assert admin is not None
        listen_port = envoy_listen_port(admin)
        url = f"http://{host}:{listen_port}/"
        # Up means up through the public port: Envoy routes only to upstreams its health
        # checks have passed, and the first check may have run before they were ready.
        probe_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        public = f"{probe_host}:{listen_port}"
        _wait_until(
            children,
            "envoy's health checks",
            lambda: (
                grpc_serving(public)
                and http_ok(f"http://{public}/healthz")
                and envoy_healthy_hosts(admin, "darkroom_grpc") == layout.replicas
            ),
            stop,
        )
        _print_up(config, layout, url, listen_port, metrics_urls())
        write_ready(listen_port)
        while not stop.wait(POLL_S):
            if children.heal():
                write_ready(listen_port)
        return 0
    except Stopping:
        return 0
    except GaveUp as failure:
        _log(str(failure))
        return 1
    except (RuntimeError, TimeoutError) as failure:
        _log(str(failure))
        return 1
    finally:
        _drain(children, config.shutdown_grace_s)


def _print_up(
    config: ServerConfig, layout: Layout, url: str, listen_port: int, metrics: dict[str, str]
) -> None:
    host = config.listen_host
    lines = [
        f"Darkroom is up: {url}",
        f"  upload (Chevereto API): {url}api/1/upload",
        f"  gRPC and /v1 JSON:      {host}:{listen_port}",
    ]
    if layout.replicas > 1:
        ports = ", ".join(str(port) for port in layout.grpc_ports)
        lines.append(f"  gRPC server replicas:   {layout.replicas}, on 127.0.0.1 ports {ports}")
    if config.storage == "s3":
        lines.append(f"  media files:            bucket {config.s3_bucket} at {config.s3_endpoint}")
    else:
        lines.append(f"  media files:            {config.media_dir.resolve()}")
    for name, metrics_url in metrics.items():
        lines.append(f"  metrics ({name}):{' ' * (15 - len(name))}{metrics_url}")
    print("\n".join(lines), flush=True)


def _drain(children: Children, grace_s: float) -> None:
    """Back end first, front door last: Envoy keeps carrying in-flight uploads (and
    answers new requests with 503) until the servers have finished them. Every replica
    drains at once, so N replicas take one grace period, not N."""
    servers: list[Child] = []
    others: dict[str, Child] = {}
    for child in children.members:
        if child.name.startswith("grpc server"):
            servers.append(child)
        else:
            others[child.name] = child
    for server in servers:
        server.terminate()
    deadline = time.monotonic() + grace_s + STOP_TIMEOUT_S
    for server in servers:
        server.wait_or_kill(deadline)
    for name in ("shim", "envoy"):
        if name in others:
            others[name].stop(STOP_TIMEOUT_S)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="darkroom serve", description=__doc__)
    parser.add_argument("--host", help="address of the public port (setting listen_host)")
    parser.add_argument(
        "--port", type=int, help="the one public port, 0 picks a free one (setting listen_port)"
    )
    parser.add_argument(
        "--replicas",
        type=int,
        help="gRPC server processes behind Envoy and the shim (setting replicas; more than "
        "one wants PostgreSQL)",
    )
    parser.add_argument("--ready-file", type=Path, help="write the bound ports here as JSON")
    args = parser.parse_args(argv)
    try:
        config = resolve_config(args.host, args.port, args.replicas)
    except (ValidationError, ValueError, OSError) as invalid:
        print(f"darkroom: invalid settings:\n{invalid}", file=sys.stderr)
        return 2
    return serve(config, args.ready_file)


if __name__ == "__main__":
    sys.exit(main())
