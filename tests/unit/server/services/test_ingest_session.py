"""An upload's cleanup: never under a row about to exist, and cancellation still arrives."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import cast

import pytest

from server.domain.media import MediaRecord
from server.domain.storage import StoredBlob
from server.services.ingest_session import IngestSession

STORED = ["images/a.jpg", "images/a.th.jpg"]
ROW = cast(MediaRecord, object())


class _Blobs:
    def __init__(self, root: Path, fail_on: str = "") -> None:
        self.root = root
        self.fail_on = fail_on
        self.deleted: list[str] = []

    async def put(self, key: str, source: Path) -> None:
        raise NotImplementedError

    async def exists(self, key: str) -> bool:
        return False

    async def delete(self, key: str) -> None:
        if key == self.fail_on:
            raise PermissionError(13, "Permission denied", key)
        self.deleted.append(key)

    def scratch_dir(self) -> Path:
        return self.root

    async def journal(self, workdir: Path, key: str, source: Path) -> None:
        raise NotImplementedError

    async def listing(self, prefix: str) -> list[StoredBlob]:
        raise NotImplementedError


async def _until(condition: Callable[[], bool]) -> None:
    # The conditions are about which step a task has reached, not about time: each
    # pass lets every ready task take one step.
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)  # a yield to the loop, not a wait for time
    raise AssertionError("the upload task never got there")


def _waiting_for_the_insert(task: asyncio.Task[None]) -> bool:
    """Whether the task is suspended in the session's wait for the insert."""
    awaiting: object = task.get_coro()
    while awaiting is not None:
        if getattr(getattr(awaiting, "cr_code", None), "co_name", "") == "_insert_settled":
            return True
        awaiting = getattr(awaiting, "cr_await", None)
    return False


class _Upload:
    """An upload whose insert runs until the test lets it end."""

    def __init__(self, blobs: _Blobs, insert_fails: bool = False) -> None:
        self.blobs = blobs
        self.insert_fails = insert_fails
        self.inserting = asyncio.Event()
        self.release = asyncio.Event()
        self.workdir: Path | None = None

    async def insert(self) -> MediaRecord:
        self.inserting.set()
        await self.release.wait()
        if self.insert_fails:
            raise RuntimeError("the database went away")
        return ROW

    async def run(self) -> None:
        async with IngestSession(self.blobs) as session:
            self.workdir = session.workdir
            session.stored.extend(STORED)
            await session.record(self.insert())


@pytest.mark.asyncio
async def test_a_second_cancel_waits_for_the_insert_and_still_cancels(tmp_path: Path) -> None:
    upload = _Upload(_Blobs(tmp_path))
    task = asyncio.create_task(upload.run())
    await upload.inserting.wait()
    task.cancel()
    await _until(lambda: _waiting_for_the_insert(task))
    task.cancel()  # e.g. the server's shutdown grace ran out
    await _until(lambda: task.cancelling() == 2 and _waiting_for_the_insert(task))
    upload.release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The row exists, so its files must too.
    assert upload.blobs.deleted == []
    assert upload.workdir is not None and not upload.workdir.exists()


@pytest.mark.asyncio
async def test_an_insert_failing_after_the_caller_left_removes_the_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    upload = _Upload(_Blobs(tmp_path), insert_fails=True)
    task = asyncio.create_task(upload.run())
    await upload.inserting.wait()
    task.cancel()
    await _until(lambda: _waiting_for_the_insert(task))
    with caplog.at_level(logging.WARNING):
        upload.release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert upload.blobs.deleted == list(reversed(STORED))
    assert "the database went away" in caplog.text


@pytest.mark.asyncio
async def test_a_file_that_cannot_be_deleted_does_not_hide_the_uploads_error(
    tmp_path: Path,
) -> None:
    blobs = _Blobs(tmp_path, fail_on=STORED[1])
    with pytest.raises(ValueError, match="not an image"):
        async with IngestSession(blobs) as session:
            session.stored.extend(STORED)
            raise ValueError("not an image")
    assert blobs.deleted == [STORED[0]]
    assert not session.workdir.exists()


class _SlowPuts(_Blobs):
    """A store whose put runs on once started, as an object store's request does."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.started = asyncio.Event()
        self.finish = asyncio.Event()
        self.put_keys: list[str] = []

    async def put(self, key: str, source: Path) -> None:
        self.started.set()
        await asyncio.shield(self.finish.wait())
        self.put_keys.append(key)

    async def journal(self, workdir: Path, key: str, source: Path) -> None:
        pass


@pytest.mark.asyncio
async def test_a_caller_leaving_mid_put_waits_for_it_and_deletes_the_blob(
    tmp_path: Path,
) -> None:
    blobs = _SlowPuts(tmp_path)

    async def upload() -> None:
        async with IngestSession(blobs) as session:
            await session.put(STORED[0], tmp_path / "source")

    task = asyncio.create_task(upload())
    await blobs.started.wait()
    task.cancel()
    for _ in range(100):  # yields to the loop, not waits for time: the cancel lands
        await asyncio.sleep(0)
    assert not task.done()  # it waits for the put in flight
    blobs.finish.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert blobs.put_keys == [STORED[0]] and blobs.deleted == [STORED[0]]
