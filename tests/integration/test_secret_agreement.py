"""Servers on one database must share secret.key: one with another refuses to start.

Each server here has a data directory of its own, as on a host of its own; the first
to start on a database fixes which secret the database's keys are hashed with.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from darkroom.v1 import media_pb2
from tests.conftest import _database
from tests.support.server import RunningServer, boot_with_admin, start_server

MISMATCH = (
    "darkroom: secret.key differs from the one this database was created with: "
    "copy data_dir/secret.key from the first host (docs/deploy.md)"
)


@pytest.fixture()
def first(tmp_path: Path, database_kind: str) -> Iterator[RunningServer]:
    with _database(database_kind) as url:
        url = url or f"sqlite:///{tmp_path / 'first' / 'darkroom.db'}"
        running = boot_with_admin(tmp_path / "first", url)
        yield running
        running.stop()


def _darkroom_on_another_host(
    first: RunningServer, data_dir: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {
        **first.env,
        "DARKROOM_DATA_DIR": str(data_dir),
        "DARKROOM_PORT_FILE": str(data_dir / "grpc.port"),
    }
    env.pop("DARKROOM_SECRET_FILE", None)
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_a_server_with_another_secret_refuses_to_start(
    first: RunningServer, tmp_path: Path
) -> None:
    second = _darkroom_on_another_host(first, tmp_path / "second", "server")
    assert second.returncode == 1
    assert MISMATCH in second.stderr.splitlines()
    assert "Traceback" not in second.stderr
    # The admin commands refuse too: a key they made would work on no other server.
    listing = _darkroom_on_another_host(first, tmp_path / "second", "users", "list")
    assert (listing.returncode, listing.stderr.strip()) == (1, MISMATCH)


def test_a_server_with_the_same_secret_accepts_the_first_ones_keys(
    first: RunningServer, tmp_path: Path
) -> None:
    name, key = first.new_user()
    third_dir = tmp_path / "third"
    third_dir.mkdir()
    shutil.copyfile(first.data_dir / "secret.key", third_dir / "secret.key")
    third = start_server(third_dir, first.env["DARKROOM_DATABASE_URL"])
    try:
        reply = third.media_stub().WhoAmI(
            media_pb2.WhoAmIRequest(), metadata=[("x-api-key", key)], timeout=10
        )
        assert (reply.kind, reply.username) == ("user", name)
    finally:
        third.stop()
