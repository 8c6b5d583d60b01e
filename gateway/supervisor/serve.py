"""``darkroom serve``: the gRPC server, the shim and Envoy as one service.

Starts the three as child processes on internal ports, waits until each is ready and
prints where to go. While running it restarts any child that exits or is killed (see
children.py for the back-off); on Ctrl-C / SIGTERM it drains: the gRPC server goes
NOT_SERVING and finishes its in-flight calls within the grace period while Envoy, still
up, answers new requests with 503 and Retry-After; then the shim and Envoy stop.
"""

from __future__ import annotations

import argparse
import json
import os
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
from gateway.supervisor.children import Children, GaveUp
from gateway.supervisor.probes import (
    envoy_admin,
    envoy_binary,
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


def resolve_config(host: str | None, port: int | None) -> ServerConfig:
    """The settings as the server reads them, with a free port chosen if asked for."""
    overrides: dict[str, object] = {}
    if host is not None:
        overrides["listen_host"] = host
    if port is not None:
        overrides["listen_port"] = port
    config = ServerConfig(**overrides)  # type: ignore[arg-type]
    if config.listen_port == 0:
        # Chosen before anything starts, so every child and every URL agrees on it.
        overrides["listen_port"] = free_port(config.listen_host)
        config = ServerConfig(**overrides)  # type: ignore[arg-type]
    return config


def metrics_ports(config: ServerConfig) -> tuple[int, int, int]:
    """Where the server, the shim and Envoy (its admin) serve metrics, all on loopback.

    Each process serves its own, as Prometheus scrapes any service: nothing of it is
    public, and the scrape path goes through no proxy and handles no key. Consecutive
    from metrics_port, so a scrape config names fixed addresses; with 0, free ones (Envoy
    picks its own admin port and writes it to the admin address file).
    """
    first = config.metrics_port
    if first == 0:
        return free_port(), free_port(), 0
    return first, first + 1, first + 2


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


def shim_argv(config: ServerConfig, grpc_port: int, shim_port: int, metrics_port: int) -> list[str]:
    return [
        sys.executable, "-m", "gateway.shim",
        "--grpc-target", f"127.0.0.1:{grpc_port}", "--port", str(shim_port),
        "--metrics-port", str(metrics_port),
        "--image-route", config.image_route, "--video-route", config.video_route,
        "--max-message-bytes", str(config.max_message_bytes),
        "--spool-dir", str(config.spool_dir.resolve()),
    ]  # fmt: skip


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


def serve(config: ServerConfig, ready_file: Path | None) -> int:
    data_dir = config.data_dir.resolve()
    media_root = config.media_dir.resolve()
    run_dir = data_dir / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    media_root.joinpath("images").mkdir(parents=True, exist_ok=True)

    host = config.listen_host
    server_metrics, shim_metrics, envoy_admin_port = metrics_ports(config)
    ports = EnvoyPorts(host, config.listen_port, envoy_admin_port, free_port(), free_port())
    env = server_env(config, ports.grpc_port, server_metrics)
    descriptor = write_descriptor_set(run_dir / "darkroom.binpb")
    envoy_config = run_dir / "envoy.yaml"
    envoy_config.write_text(
        render(
            ports,
            descriptor=descriptor,
            media_root=media_root,
            max_body_bytes=config.max_message_bytes,
            idle_timeout_s=config.http_idle_timeout_s,
        )
    )
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

    def metrics_urls() -> dict[str, str]:
        # Envoy's admin address is re-read: with metrics_port 0 a restarted Envoy picks
        # a new one.
        return {
            "server": f"http://127.0.0.1:{server_metrics}/metrics",
            "shim": f"http://127.0.0.1:{shim_metrics}/metrics",
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
            "grpc_port": ports.grpc_port, "shim_port": ports.shim_port,
            "metrics": metrics_urls(),
            "media_root": str(media_root), "public_base_url": config.public_base_url,
            "pids": {child.name: child.pid for child in children.members},
        }))  # fmt: skip
        partial.replace(ready_file)

    try:
        children.start("grpc server", [sys.executable, "-m", "server", "server"], env)
        children.start(
            "shim", shim_argv(config, ports.grpc_port, ports.shim_port, shim_metrics), env
        )
        children.start("envoy", envoy, env)
        grpc_target = f"127.0.0.1:{ports.grpc_port}"
        _wait_until(children, "the gRPC server", lambda: grpc_serving(grpc_target), stop)
        shim_health = f"http://127.0.0.1:{ports.shim_port}/healthz"
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
            lambda: grpc_serving(public) and http_ok(f"http://{public}/healthz"),
            stop,
        )
        print(f"Darkroom is up: {url}", flush=True)
        print(f"  upload (Chevereto API): {url}api/1/upload", flush=True)
        print(f"  gRPC and /v1 JSON:      {host}:{listen_port}", flush=True)
        print(f"  media files:            {media_root}", flush=True)
        for name, metrics_url in metrics_urls().items():
            print(f"  metrics ({name}):{' ' * (15 - len(name))}{metrics_url}", flush=True)
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


def _drain(children: Children, grace_s: float) -> None:
    """Back end first, front door last: Envoy keeps carrying in-flight uploads (and
    answers new requests with 503) until the server has finished them."""
    by_name = {child.name: child for child in children.members}
    for name, timeout_s in (
        ("grpc server", grace_s + STOP_TIMEOUT_S),
        ("shim", STOP_TIMEOUT_S),
        ("envoy", STOP_TIMEOUT_S),
    ):
        if name in by_name:
            by_name[name].stop(timeout_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="darkroom serve", description=__doc__)
    parser.add_argument("--host", help="address of the public port (setting listen_host)")
    parser.add_argument(
        "--port", type=int, help="the one public port, 0 picks a free one (setting listen_port)"
    )
    parser.add_argument("--ready-file", type=Path, help="write the bound ports here as JSON")
    args = parser.parse_args(argv)
    try:
        config = resolve_config(args.host, args.port)
    except (ValidationError, ValueError, OSError) as invalid:
        print(f"darkroom: invalid settings:\n{invalid}", file=sys.stderr)
        return 2
    return serve(config, args.ready_file)


if __name__ == "__main__":
    sys.exit(main())
