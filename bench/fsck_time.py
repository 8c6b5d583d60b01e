"""How long ``darkroom fsck`` takes over N media items (default 10,000).

The items are made in this process, straight through the adapters: rows in one
transaction, three small files each (image, thumb, medium) without the fsync a real
put does, since the bench times the check, not the setup. Then ``darkroom fsck
--grace-s 0`` runs as an operator runs it, a few times, and the median wall time is
printed (it also checks that the report is clean, so a slow wrong answer fails).

    .venv/bin/python -m bench.fsck_time [--items 10000] [--runs 3] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from server.adapters.blob.local import LocalBlobStore
from server.adapters.db.engine import make_engine, migrate
from server.adapters.db.media_repo import _to_row
from server.config import ServerConfig
from server.domain.media import MediaRecord, MediaType

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _record(n: int) -> MediaRecord:
    date = T0 + timedelta(hours=n)  # about one folder a day, as a busy site has
    return MediaRecord(
        name=f"photo-{n}", extension="jpg", size=1000, width=640, height=480, date_gmt=date,
        folder=date.strftime("%Y/%m/%d"), title=f"Photo {n}", description=None, nsfw=False,
        md5=f"{n:032x}", source_md5=None, original_filename=f"photo-{n}.jpg",
        type=MediaType.IMAGE, chain=0b00111, thumb_size=100, thumb_extension="jpg",
        medium_size=300, medium_width=500, medium_height=375, frame_size=0,
        is_animated=False, is_360=False, duration=0, delete_token_hash=f"hash-{n}",
    )  # fmt: skip


def populate(data_dir: Path, items: int) -> None:
    config = ServerConfig(data_dir=data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(config.database_url)
    try:
        migrate(engine)
        blobs = LocalBlobStore(config.media_dir)
        records = [_record(n) for n in range(items)]
        with Session(engine) as session:
            session.add_all(_to_row(record) for record in records)
            session.commit()
        for record in records:
            for key in record.blob_keys():
                path = blobs.path_of(key)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(key.encode())
    finally:
        engine.dispose()


def time_fsck(data_dir: Path) -> tuple[float, dict[str, object]]:
    env = {**os.environ, "DARKROOM_DATA_DIR": str(data_dir)}
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "server", "fsck", "--json", "--grace-s", "0"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"fsck failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    report: dict[str, object] = json.loads(result.stdout)
    return elapsed, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, help="default: a temporary directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fsck-bench-") as tmp:
        data_dir = args.data_dir or Path(tmp)
        start = time.perf_counter()
        populate(data_dir, args.items)
        print(f"made {args.items} items in {time.perf_counter() - start:.1f} s")
        times = []
        for _ in range(args.runs):
            elapsed, report = time_fsck(data_dir)
            assert report["rows"] == args.items and report["problems"] == 0, report
            times.append(elapsed)
        summary = {
            "items": args.items,
            "files": report["files"],
            "runs_s": [round(t, 2) for t in times],
            "median_s": round(statistics.median(times), 2),
        }
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
