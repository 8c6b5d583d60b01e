"""Run the real ``darkroom server`` as a child process, as a user would, on a free port."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import cast

import grpc
import httpx
import psutil
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from darkroom.v1 import admin_pb2, admin_pb2_grpc, media_pb2, media_pb2_grpc
from tests.support.stored import StoredMedia, scratch_root, stored_media
from tests.support.waiting import wait_until

POSTGRES_ENV = "DARKROOM_TEST_POSTGRES_URL"
READY_TIMEOUT_S = 60.0


@dataclass
class RunningServer:
    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    env: dict[str, str]
    admin_key: str = ""
    log_path: Path = field(default_factory=Path)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def media_root(self) -> Path:
        return self.data_dir / "media"

    @cached_property
    def stored(self) -> StoredMedia:
        return stored_media(self.env, self.media_root)

    @property
    def scratch_root(self) -> Path:
        return scratch_root(self.env, self.data_dir)

    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(
            self.target,
            options=[
                ("grpc.max_send_message_length", 64 * 1024 * 1024),
                ("grpc.max_receive_message_length", 64 * 1024 * 1024),
            ],
        )

    def media_stub(self) -> media_pb2_grpc.MediaServiceStub:
        return media_pb2_grpc.MediaServiceStub(self.channel())

    def admin_stub(self) -> admin_pb2_grpc.AdminServiceStub:
        return admin_pb2_grpc.AdminServiceStub(self.channel())

    def cli(self, *args: str) -> str:
        """Run ``darkroom ARGS`` against this server's database; returns stdout."""
        result = subprocess.run(
            [sys.executable, "-m", "server", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"darkroom {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout

    def rss_bytes(self) -> int:
        return int(psutil.Process(self.process.pid).memory_info().rss)

    def stored_files(self) -> list[str]:
        return self.stored.keys()

    def scratch_files(self) -> list[Path]:
        """What uploads left in scratch; a process's own directory with its lock and pid
        marker (server/adapters/blob/scratch.py) is not theirs."""
        scratch = self.scratch_root
        if not scratch.exists():
            return []
        ownership = {".registry.lock", "owner.lock", "owner.pid"}
        return sorted(
            p
            for p in scratch.rglob("*")
            if p.name not in ownership and not (p.parent == scratch and p.name.startswith("proc-"))
        )

    def admin_metadata(self) -> list[tuple[str, str]]:
        return [("x-api-key", self.admin_key)]

    def new_user(self, prefix: str = "user") -> tuple[str, str]:
        """A new non-admin user made through AdminService: (username, API key)."""
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        reply = self.admin_stub().CreateUser(
            admin_pb2.CreateUserRequest(username=name), metadata=self.admin_metadata()
        )
        return name, str(reply.api_key)

    def metric(self, name: str) -> float:
        """One unlabelled series from the server's /metrics (its port is in its log)."""
        found = re.search(r"metrics on (http://\S+/metrics)", self.log_path.read_text())
        assert found, "the server logs where its metrics are"
        text = httpx.get(found.group(1), timeout=10).text
        for line in text.splitlines():
            if line.startswith(f"{name} "):
                return float(line.split()[1])
        raise AssertionError(f"no {name} in the metrics")

    def start_again(self) -> RunningServer:
        """A new server process on this one's data, database and store (after stop)."""
        same_store = {
            k: v
            for k, v in self.env.items()
            if k == "DARKROOM_STORAGE" or k.startswith("DARKROOM_S3_")
        }
        again = start_server(self.data_dir, self.env["DARKROOM_DATABASE_URL"], same_store)
        again.admin_key = self.admin_key
        return again

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def database_urls() -> dict[str, str | None]:
    return {"sqlite": "", "postgres": os.environ.get(POSTGRES_ENV)}


@contextmanager
def postgres_database(base_url: str) -> Iterator[str]:
    """A fresh, empty database on the test PostgreSQL; dropped afterwards."""
    import sqlalchemy

    name = f"darkroom_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    url = sqlalchemy.engine.make_url(base_url).set(database=name).render_as_string(False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _serving(server: RunningServer, port_file: Path) -> bool:
    if server.process.poll() is not None:
        raise RuntimeError(f"server exited early:\n{server.log_path.read_text()}")
    if not (port_file.exists() and port_file.read_text().strip()):
        return False
    server.port = int(port_file.read_text())
    with grpc.insecure_channel(server.target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=2)
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def _wait_ready(server: RunningServer, port_file: Path) -> None:
    try:
        wait_until(lambda: _serving(server, port_file), READY_TIMEOUT_S, "server readiness")
    except TimeoutError as exc:
        raise TimeoutError(f"server not ready:\n{server.log_path.read_text()}") from exc


def start_server(
    data_dir: Path, database_url: str = "", extra_env: dict[str, str] | None = None
) -> RunningServer:
    data_dir.mkdir(parents=True, exist_ok=True)
    port_file = data_dir / "grpc.port"
    port_file.unlink(missing_ok=True)
    env = {
        **os.environ,
        "DARKROOM_DATA_DIR": str(data_dir),
        "DARKROOM_DATABASE_URL": database_url,
        "DARKROOM_GRPC_PORT": "0",
        "DARKROOM_PORT_FILE": str(port_file),
        "DARKROOM_PUBLIC_BASE_URL": "http://darkroom.test/",
        "DARKROOM_REAPER_INTERVAL_S": "0.2",
        # Free metrics ports: several servers run at once, beside anything on 9464.
        "DARKROOM_METRICS_PORT": "0",
        **(extra_env or {}),
    }
    log_path = data_dir / "server.log"
    # The child gets its own copy of the descriptor; ours closes once it is started.
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "server", "server"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = RunningServer(process, 0, data_dir, env, log_path=log_path)
    try:
        _wait_ready(server, port_file)
    except BaseException:
        server.stop()
        raise
    return server


def boot_with_admin(
    data_dir: Path, database_url: str, extra_env: dict[str, str] | None = None
) -> RunningServer:
    server = start_server(data_dir, database_url, extra_env)
    # The first admin can only come from the CLI; its key is the last line it prints.
    server.admin_key = server.cli("users", "create", "root", "--admin").strip().splitlines()[-1]
    # Test clients upload far faster than Chevereto's flood defaults allow; the flood
    # tests switch protection back on for a server of their own.
    server.admin_stub().UpdateSettings(
        admin_pb2.UpdateSettingsRequest(settings=admin_pb2.Settings(flood_protection=False)),
        metadata=server.admin_metadata(),
    )
    return server


def media_gone(server: RunningServer, id_encoded: str) -> bool:
    """Whether GetMedia answers NOT_FOUND for the item."""
    try:
        server.media_stub().GetMedia(media_pb2.GetMediaRequest(id=id_encoded))
    except grpc.RpcError as error:
        return error.code() == grpc.StatusCode.NOT_FOUND
    return False


def error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo:
    """The ErrorInfo detail of a failed call (every Darkroom error carries one)."""
    call = cast(grpc.Call, error)
    for item in call.trailing_metadata() or ():
        key, value = cast(tuple[str, bytes], item)
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info):
                    return info
    raise AssertionError(f"no ErrorInfo in {error!r}")


def chevereto_error(error: grpc.RpcError) -> tuple[int, str]:
    info = error_info(error)
    return int(info.metadata["chevereto_code"]), info.metadata["chevereto_message"]
