"""Upload throughput and latency at 1, 2 and 3 replicas, on local disk and on SeaweedFS.

Each configuration is a fresh ``darkroom serve`` on a fresh PostgreSQL database (the
multi-node metadata store), with its files either under the data directory or in a
bucket of a real SeaweedFS started here. 16 clients upload the same small photo through
the public port (Chevereto's REST API) for a fixed count; printed per configuration:
uploads per second, p50 and p99 latency, and the ratios to the 1-replica local run,
which is the baseline of this run (the machine is shared: only ratios compare).

On a 2-core machine more replicas cannot add CPU: the table shows what S3 and
replication cost, not linear scaling.

    .venv/bin/python -m bench.scale_out [--uploads 300] [--clients 16] [--replicas 1,2,3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from bench.report import RESULTS
from tests.support.media import jpeg
from tests.support.seaweedfs import SeaweedFS, running_seaweedfs, weed_unavailable
from tests.support.server import POSTGRES_ENV, postgres_database
from tests.support.stack import start_stack

PHOTO = jpeg(1024, 768, seed=11)


@dataclass
class Run:
    storage: str
    replicas: int
    uploads: int
    failed: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        return self.uploads / self.seconds


def _load(url: str, key: str, uploads: int, clients: int) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    left = iter(range(uploads))

    def client() -> None:
        nonlocal failures
        with httpx.Client(base_url=url, timeout=120) as http:
            while True:
                with lock:
                    if next(left, None) is None:
                        return
                started = time.perf_counter()
                answer = http.post(
                    "/api/1/upload",
                    headers={"X-API-Key": key},
                    files={"source": ("bench.jpg", PHOTO, "image/jpeg")},
                )
                elapsed = time.perf_counter() - started
                with lock:
                    if answer.status_code == 200:
                        latencies.append(elapsed)
                    else:
                        failures += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, failures, time.perf_counter() - began


@contextmanager
def _storage_env(storage: str, seaweed: SeaweedFS | None) -> Iterator[dict[str, str]]:
    if storage == "local":
        yield {}
        return
    assert seaweed is not None
    yield seaweed.darkroom_env(seaweed.new_bucket())  # a bucket per run, as a database


def _one(storage: str, replicas: int, seaweed: SeaweedFS | None, args: argparse.Namespace) -> Run:
    base = os.environ[POSTGRES_ENV]
    with (
        tempfile.TemporaryDirectory(prefix="darkroom-scale-") as tmp,
        postgres_database(base) as database,
        _storage_env(storage, seaweed) as storage_env,
    ):
        stack = start_stack(
            Path(tmp),
            {"DARKROOM_DATABASE_URL": database, "DARKROOM_REPLICAS": str(replicas), **storage_env},
        )
        try:
            _load(stack.url, stack.admin_key, args.clients * 2, args.clients)  # warm up
            latencies, failed, seconds = _load(
                stack.url, stack.admin_key, args.uploads, args.clients
            )
        finally:
            stack.stop()
    cuts = statistics.quantiles(latencies, n=100)
    return Run(storage, replicas, len(latencies), failed, seconds, cuts[49] * 1e3, cuts[98] * 1e3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=300)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--replicas", default="1,2,3")
    args = parser.parse_args()
    if not os.environ.get(POSTGRES_ENV):
        raise SystemExit(f"set {POSTGRES_ENV} (a PostgreSQL the runs may create databases on)")
    unavailable = weed_unavailable()
    if unavailable:
        raise SystemExit(unavailable)
    counts = [int(n) for n in args.replicas.split(",")]
    runs: list[Run] = []
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="darkroom-weed-") as weed_dir:
        seaweed = stack.enter_context(running_seaweedfs(Path(weed_dir)))
        for replicas in counts:
            for storage in ("local", "s3"):  # interleaved: drift hits both alike
                runs.append(_one(storage, replicas, seaweed, args))
                print(f"  done: {storage} x{replicas}", flush=True)
    base = next(r for r in runs if r.storage == "local" and r.replicas == counts[0])
    print(f"\n{args.uploads} uploads of a {len(PHOTO) // 1000} KB JPEG, {args.clients} clients")
    print(f"{'storage':<8}{'replicas':>9}{'uploads/s':>11}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'x thrpt':>9}{'x p50':>8}{'failed':>8}")  # fmt: skip
    for r in runs:
        print(
            f"{r.storage:<8}{r.replicas:>9}{r.per_second:>11.1f}{r.p50_ms:>9.0f}{r.p99_ms:>9.0f}"
            f"{r.per_second / base.per_second:>9.2f}{r.p50_ms / base.p50_ms:>8.2f}{r.failed:>8}"
        )
    for replicas in counts:
        local, s3 = (next(r for r in runs if (r.storage, r.replicas) == (s, replicas))
                     for s in ("local", "s3"))  # fmt: skip
        print(f"S3 / local throughput at {replicas} replica(s): "
              f"{s3.per_second / local.per_second:.2f}")  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "scale_out.json"
    out.write_text(json.dumps([asdict(r) | {"per_second": r.per_second} for r in runs], indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
