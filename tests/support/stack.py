"""The whole service as a user runs it: ``darkroom serve`` on a free port."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import psutil

from darkroom.v1 import admin_pb2, admin_pb2_grpc, media_pb2_grpc
from tests.support.waiting import wait_until

READY_TIMEOUT_S = 90.0


@dataclass
class Stack:
    process: subprocess.Popen[bytes]
    data_dir: Path
    env: dict[str, str]
    ready: dict[str, object]
    admin_key: str = ""

    @property
    def url(self) -> str:
        return str(self.ready["url"])

    @property
    def port(self) -> int:
        return int(str(self.ready["listen_port"]))

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def media_root(self) -> Path:
        return Path(str(self.ready["media_root"]))

    def pid(self, name: str) -> int:
        """The child's pid now: 'darkroom serve' rewrites its ready file after a restart."""
        self.ready = json.loads((self.data_dir / "ready.json").read_text())
        pids = self.ready["pids"]
        assert isinstance(pids, dict)
        return int(pids[name])

    def rss(self, name: str) -> int:
        return int(psutil.Process(self.pid(name)).memory_info().rss)

    def http(self, **options: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120, **options)  # type: ignore[arg-type]

    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(
            self.target, options=[("grpc.max_send_message_length", 64 * 1024 * 1024)]
        )

    def media_stub(self) -> media_pb2_grpc.MediaServiceStub:
        return media_pb2_grpc.MediaServiceStub(self.channel())

    def admin_stub(self) -> admin_pb2_grpc.AdminServiceStub:
        return admin_pb2_grpc.AdminServiceStub(self.channel())

    def admin_metadata(self) -> list[tuple[str, str]]:
        return [("x-api-key", self.admin_key)]

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "server", *args],
            env=self.env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"darkroom {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout

    def stop(self) -> int:
        """Stop 'darkroom serve' as Ctrl-C would; its three children must go with it."""
        children = [psutil.Process(self.pid(name)) for name in ("grpc server", "shim", "envoy")]
        if self.process.poll() is None:
            self.process.terminate()
            try:
                code = self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                code = self.process.wait()
        else:
            code = self.process.wait()
        _, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, f"left running after stop: {[p.pid for p in alive]}"
        return code


def start_stack(
    data_dir: Path,
    extra_env: dict[str, str] | None = None,
    *,
    data_dir_from_env: bool = True,
    admin_key: str | None = None,
    serve_args: Sequence[str] = (),
) -> Stack:
    """``darkroom serve --port 0`` with its data in ``data_dir``.

    With ``data_dir_from_env=False`` the data directory must come from the settings
    themselves (a DARKROOM_CONFIG_FILE in ``extra_env``); ``data_dir`` then only holds
    the ready file and the log. ``admin_key`` restarts on data a stack made before: its
    admin and settings are already there. ``serve_args`` are more flags, as an operator
    types them (``--replicas 2``).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    ready_file = data_dir / "ready.json"
    ready_file.unlink(missing_ok=True)  # a killed serve leaves its own behind
    # As './scripts/serve' runs it: the venv's bin directory is not on PATH, so the
    # supervisor must find its tools (envoy) by itself.
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env = {
        **os.environ,
        "PATH": path,
        "DARKROOM_REAPER_INTERVAL_S": "0.5",
        # Free metrics ports (printed and in the ready file): stacks run side by side.
        "DARKROOM_METRICS_PORT": "0",
        **(extra_env or {}),
    }
    if data_dir_from_env:
        env["DARKROOM_DATA_DIR"] = str(data_dir)
    # The child gets its own copy of the descriptor; ours closes once it is started.
    with open(data_dir / "serve.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--port", "0",
             "--ready-file", str(ready_file), *serve_args],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def ready_or_dead() -> bool:
        return process.poll() is not None or bool(
            ready_file.exists() and ready_file.read_text().strip()
        )

    try:
        wait_until(ready_or_dead, READY_TIMEOUT_S, "darkroom serve readiness")
    except TimeoutError:
        process.kill()
        raise
    if process.poll() is not None:
        raise RuntimeError((data_dir / "serve.log").read_text())
    stack = Stack(process, data_dir, env, json.loads(ready_file.read_text()))
    if admin_key is not None:
        stack.admin_key = admin_key
        return stack
    stack.admin_key = stack.cli("users", "create", "root", "--admin").strip().splitlines()[-1]
    # As for the server fixtures: tests and benchmarks outrun the flood defaults.
    stack.admin_stub().UpdateSettings(
        admin_pb2.UpdateSettingsRequest(settings=admin_pb2.Settings(flood_protection=False)),
        metadata=stack.admin_metadata(),
    )
    return stack
