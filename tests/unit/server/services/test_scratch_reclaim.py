"""Reclaiming a dead upload's scratch deletes the blobs no row owns, and only those."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from server.adapters.blob.local import LocalBlobStore
from server.domain.media import MediaRecord
from server.services.scratch_reclaim import ScratchReclaimer
from tests.contract.backends import media_record
from tests.unit.server.fakes import MediaRows

FOLDER = "images/2026/03/01"


async def _stored_by_an_upload(store: LocalBlobStore, workdir: Path, name: str) -> list[str]:
    keys = [f"{FOLDER}/{name}.jpg", f"{FOLDER}/{name}.th.jpg", f"{FOLDER}/{name}.md.jpg"]
    for key in keys:
        source = workdir / key.rsplit("/", 1)[1]
        source.write_bytes(key.encode())
        await store.journal(workdir, key, source)
        await store.put(key, source)
    return keys


def test_blobs_of_the_recorded_upload_stay_and_the_unrecorded_ones_go(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = LocalBlobStore(tmp_path / "media")
        # A process directory with no lock on it: its owner is gone (the adapter's tests
        # show that with real processes killed).
        dead = store.scratch.root / "proc-0-dead"
        recorded_dir, cut_dir = dead / "upload-a", dead / "upload-b"
        recorded_dir.mkdir(parents=True)
        cut_dir.mkdir()
        recorded = await _stored_by_an_upload(store, recorded_dir, "kept")
        cut_short = await _stored_by_an_upload(store, cut_dir, "cut")
        rows = MediaRows()
        row: MediaRecord = dataclasses.replace(media_record(1), name="kept", chain=0b00111)
        await rows.add(row)

        reclaimer = ScratchReclaimer(store.scratch, rows, store, interval_s=60)
        result = await reclaimer.reclaim()
        assert (result.directories, result.blobs_deleted) == (1, 3)
        assert all(store.path_of(key).exists() for key in recorded)
        assert not any(store.path_of(key).exists() for key in cut_short)
        assert not dead.exists()
        assert (await reclaimer.reclaim()).directories == 0

    asyncio.run(scenario())
