"""darkroom fsck on a live server: each kind of damage found, repaired, then none left."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import grpc
import pytest

from darkroom.v1 import media_pb2, media_pb2_grpc
from tests.conftest import _backend
from tests.integration.test_upload_formats import upload
from tests.support import media
from tests.support.scratch_owner import Owner
from tests.support.server import RunningServer, boot_with_admin
from tests.support.stored import is_stored, key_of


@pytest.fixture()
def server(
    tmp_path: Path, backend_kind: str, request: pytest.FixtureRequest
) -> Iterator[RunningServer]:
    with _backend(backend_kind, request) as (url, env):
        running = boot_with_admin(tmp_path / "darkroom", url, env)
        yield running
        running.stop()


def _fsck(server: RunningServer, *args: str) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-m", "server", "fsck", *args],
        env=server.env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert not result.stderr, result.stderr
    return result.returncode, result.stdout


def _report(server: RunningServer, *args: str) -> tuple[int, dict[str, object]]:
    code, out = _fsck(server, "--json", *args)
    return code, json.loads(out)


def _get(server: RunningServer, id_encoded: str) -> media_pb2.Media | None:
    try:
        with server.channel() as channel:
            reply = media_pb2_grpc.MediaServiceStub(channel).GetMedia(
                media_pb2.GetMediaRequest(id=id_encoded)
            )
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.NOT_FOUND
        return None
    return cast(media_pb2.Media, reply.media)


def test_fsck_finds_each_kind_of_damage_and_repair_leaves_none(
    server: RunningServer, tmp_path: Path
) -> None:
    key = server.admin_key
    lost_original, lost_thumb, intact = (
        upload(server, key, media.jpeg(800, 600, seed=70 + n), f"fsck-{n}.jpg") for n in range(3)
    )
    code, clean = _report(server, "--grace-s", "0")
    assert code == 0 and clean["problems"] == 0 and (clean["rows"], clean["files"]) == (3, 9)

    # The damage: a file no row owns, a row without its original, a row without its
    # thumb, and the scratch of a process killed after it stored a blob.
    orphan = "images/2020/01/01/stray.jpg"
    server.stored.write(orphan, b"\xff\xd8 nobody's")
    server.stored.remove(key_of(lost_original.url))
    server.stored.remove(key_of(lost_thumb.thumb.url))
    dead = Owner(server.env, "images/2020/01/02/cut-short.jpg")
    try:
        dead.kill()
    finally:
        dead.close()

    # Default grace: the files just planted are too young to call orphans.
    code, young = _report(server)
    counts = young["counts"]
    assert code == 1 and isinstance(counts, dict)
    assert counts["orphan_files"] == 0 and young["young_files"] == 2
    assert counts["leftover_scratch"] == 1

    code, found = _report(server, "--grace-s", "0")
    assert code == 1
    assert found["counts"] == {
        "orphan_files": 2,  # the stray file and the killed upload's blob
        "rows_missing_original": 1,
        "missing_variants": 1,
        "leftover_scratch": 1,
    }
    findings = found["findings"]
    assert isinstance(findings, list)
    subjects = {finding["subject"] for finding in findings}
    assert "images/2020/01/01/stray.jpg" in subjects
    assert "images/2020/01/02/cut-short.jpg" in subjects
    assert f"media {lost_original.id_encoded}: {key_of(lost_original.url)}" in subjects
    assert f"media {lost_thumb.id_encoded}: {key_of(lost_thumb.thumb.url)}" in subjects
    assert dead.scratch.name in subjects
    assert server.stored.exists(orphan) and dead.scratch.exists()  # a check repairs nothing

    code, text = _fsck(server, "--repair", "--grace-s", "0")
    assert code == 0, text
    assert "images/2020/01/01/stray.jpg -> deleted: no row names it" in text
    assert "row removed: its original is gone" in text
    assert "row kept, thumb cleared from its chain" in text
    assert f"{dead.scratch.name} -> reclaimed" in text
    assert "5 problems found, 5 repaired, 0 left" in text

    code, text = _fsck(server, "--grace-s", "0")
    assert code == 0 and text.strip().endswith("no problems found"), text
    assert not server.stored.exists(orphan) and not dead.scratch.exists()
    assert not server.stored.exists("images/2020/01/02/cut-short.jpg")
    assert _get(server, lost_original.id_encoded) is None
    kept = _get(server, lost_thumb.id_encoded)
    assert kept is not None and kept.thumb.url == "" and kept.medium.url
    assert is_stored(server, kept.url)
    untouched = _get(server, intact.id_encoded)
    assert untouched is not None and (untouched.md5, untouched.thumb.url) == (
        intact.md5,
        intact.thumb.url,
    )
