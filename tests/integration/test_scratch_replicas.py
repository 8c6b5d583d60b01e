"""Two server processes on one data directory: each sweep reclaims the scratch of the
dead, never that of a live replica."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.integration.test_upload_formats import upload
from tests.support import media
from tests.support.scratch_owner import Owner
from tests.support.server import RunningServer, boot_with_admin, start_server
from tests.support.stored import is_stored
from tests.support.waiting import wait_until

SWEEP = {"DARKROOM_SCRATCH_SWEEP_INTERVAL_S": "0.2"}
BOUND_S = 30.0  # a liveness bound for a loaded machine, not a speed target


def _own_scratch(server: RunningServer) -> Path:
    [own] = [
        p
        for p in (server.media_root / ".tmp").glob("proc-*")
        if (p / "owner.pid").read_text().strip() == str(server.process.pid)
    ]
    return own


def _a_sweep_has_run(server: RunningServer, n: int) -> None:
    """Proved, not waited for: a directory with no owner appears and is reclaimed."""
    marker = server.media_root / ".tmp" / f"proc-0-marker{n}"
    marker.mkdir()
    wait_until(lambda: not marker.exists(), BOUND_S, "a scratch sweep")


def test_replicas_reclaim_each_others_scratch_only_once_the_owner_is_dead(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "darkroom"
    first = boot_with_admin(data_dir, "", SWEEP)
    second = start_server(data_dir, "", SWEEP)
    second.admin_key = first.admin_key
    try:
        first_scratch, second_scratch = _own_scratch(first), _own_scratch(second)
        # An upload of the first one's, stored but not recorded yet, as a crash finds it.
        planted = Owner(first.env, "images/2021/05/05/cut-short.jpg")
        planted.close()  # killed: its own scratch is a leftover
        for n in range(3):
            _a_sweep_has_run(first, n)
        assert not planted.scratch.exists()
        assert not (first.media_root / "images/2021/05/05/cut-short.jpg").exists()
        assert first_scratch.is_dir() and second_scratch.is_dir()  # both live: both kept

        kept = upload(second, second.admin_key, media.jpeg(640, 480, seed=5), "kept.jpg")
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait()
        assert first_scratch.is_dir()  # nobody cleaned up after the kill
        wait_until(lambda: not first_scratch.exists(), BOUND_S, "the dead replica's reclaim")
        assert second_scratch.is_dir()
        assert is_stored(second, kept.url)
    finally:
        first.stop()
        second.stop()
    assert not second_scratch.exists()  # a clean stop takes its own scratch with it
