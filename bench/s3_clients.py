"""Which S3 client for the blob store: boto3 (in threads), aiobotocore, obstore, OpenDAL.

Against a real SeaweedFS (tests/support/seaweedfs.py), started once. Each round runs
every candidate in a fresh interpreter (a cold import), in a shuffled order so drift on
a shared machine hits all alike. A candidate does what the S3 BlobStore does, through
an async interface: create-only puts (If-None-Match: *) of a 100 KB and a 20 MB file
from disk (multipart in 16 MB parts above 16 MB, read from the file as sent where the
library allows), HEAD, DELETE, a listing of 1000 keys, and 100 KB puts eight at a time.
Printed: medians over the rounds of wall time and CPU per operation (the client's whole
process, every thread), peak RSS growth during a 20 MB put, and whether a second create
of a key was refused. Not a test: it asserts nothing. Needs the four libraries.

    .venv/bin/python -m bench.s3_clients [--rounds 5] [--ops 30]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from functools import partial
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from tests.support.rss import RssPeak
from tests.support.seaweedfs import running_seaweedfs, weed_unavailable

# The S3 libraries are imported where used: import time is measured cold, and they are
# no dependency of the project yet (typed when installed with their stubs, Any if not).

CANDIDATES = ("boto3", "aiobotocore", "obstore", "opendal")
PART = 16 * 1024 * 1024  # server/config.py s3_multipart_threshold_mb's default
SMALL, BIG, LISTED = 100 * 1000, 20 * 1024 * 1024, 1000
CONCURRENCY = 8
PHOTO, VIDEO = "image/jpeg", "video/mp4"
JOB_ENV = "BENCH_S3_JOB"  # a worker's job, secret included: not on its command line


@dataclass
class Target:
    endpoint: str
    bucket: str
    key_id: str
    secret: str
    region: str


class Exists(Exception):
    """The store refused a create: the key is taken."""


def _parts(size: int) -> list[tuple[int, int, int]]:
    """(part number, start, length) of each part."""
    return [(n, s, min(PART, size - s)) for n, s in enumerate(range(0, size, PART), 1)]


def _botocore_options(t: Target) -> dict[str, Any]:
    from botocore.config import Config  # type: ignore[import-not-found, import-untyped, unused-ignore]

    config = Config(s3={"addressing_style": "path"}, max_pool_connections=2 * CONCURRENCY,
                    retries={"mode": "standard", "max_attempts": 3})  # fmt: skip
    return {"endpoint_url": t.endpoint, "region_name": t.region, "aws_access_key_id": t.key_id,
            "aws_secret_access_key": t.secret, "config": config}  # fmt: skip


class Botocore:
    """boto3 or aiobotocore, each as an adapter would drive it: ``call`` runs one S3
    operation, in a worker thread for boto3's sync client, natively for aiobotocore."""

    def __init__(self, t: Target, call: Callable[..., Awaitable[dict[str, Any]]]) -> None:
        self.t, self.call = t, call

    async def _multipart(self, key: str, path: Path, size: int) -> None:
        # The store's own part reader; imported here, so other candidates' workers do not
        # load boto3 with it.
        from server.adapters.blob.s3 import FilePart

        b = self.t.bucket
        upload = await self.call("create_multipart_upload", Bucket=b, Key=key, ContentType=VIDEO)
        uid, done = upload["UploadId"], []
        try:
            for n, start, length in _parts(size):
                with FilePart(path, start, length) as part:
                    r = await self.call(
                        "upload_part", Bucket=b, Key=key, UploadId=uid, PartNumber=n, Body=part
                    )
                done.append({"PartNumber": n, "ETag": r["ETag"]})
            await self.call(
                "complete_multipart_upload", Bucket=b, Key=key, UploadId=uid, IfNoneMatch="*",
                MultipartUpload={"Parts": done},
            )  # fmt: skip
        except BaseException:
            await self.call("abort_multipart_upload", Bucket=b, Key=key, UploadId=uid)
            raise

    async def create(self, key: str, path: Path, size: int) -> None:
        try:
            if size > PART:
                return await self._multipart(key, path, size)
            # botocore streams a file body; aiohttp reads it in its executor.
            with path.open("rb") as body:
                await self.call(
                    "put_object", Bucket=self.t.bucket, Key=key, Body=body, ContentType=PHOTO,
                    IfNoneMatch="*",
                )  # fmt: skip
        except Exception as error:
            response: dict[str, Any] = getattr(error, "response", {})
            if response.get("Error", {}).get("Code") == "PreconditionFailed":
                raise Exists(key) from error
            raise

    async def head(self, key: str) -> int:
        return int((await self.call("head_object", Bucket=self.t.bucket, Key=key))["ContentLength"])

    async def delete(self, key: str) -> None:
        await self.call("delete_object", Bucket=self.t.bucket, Key=key)

    async def count(self, prefix: str) -> int:
        total, more = 0, dict[str, str]()
        while True:
            page = await self.call("list_objects_v2", Bucket=self.t.bucket, Prefix=prefix, **more)
            total += len(page.get("Contents", []))
            if not page.get("IsTruncated"):
                return total
            more = {"ContinuationToken": page["NextContinuationToken"]}


class Obstore:
    """obstore's async calls. With a precondition (mode "create") it sends one PUT of
    the whole file, read into memory: object_store takes none on a multipart upload."""

    def __init__(self, t: Target) -> None:
        import obstore  # type: ignore[import-not-found, import-untyped, unused-ignore]
        from obstore.exceptions import AlreadyExistsError  # type: ignore[import-not-found, import-untyped, unused-ignore]
        from obstore.store import S3Store  # type: ignore[import-not-found, import-untyped, unused-ignore]

        self.ob, self.taken = obstore, AlreadyExistsError
        self.store = S3Store(
            t.bucket, endpoint=t.endpoint, region=t.region, access_key_id=t.key_id,
            secret_access_key=t.secret, virtual_hosted_style_request=False,
            client_options={"allow_http": True},
        )  # fmt: skip

    async def create(self, key: str, path: Path, size: int) -> None:
        try:
            await self.ob.put_async(
                self.store, key, path, mode="create", chunk_size=PART, max_concurrency=2,
                attributes={"Content-Type": PHOTO if size <= PART else VIDEO},
            )  # fmt: skip
        except self.taken as error:
            raise Exists(key) from error

    async def head(self, key: str) -> int:
        return int((await self.ob.head_async(self.store, key))["size"])

    async def delete(self, key: str) -> None:
        await self.ob.delete_async(self.store, key)

    async def count(self, prefix: str) -> int:
        batches = self.ob.list(self.store, prefix, chunk_size=1000)
        return sum([len(batch) async for batch in batches])


class Opendal:
    """Apache OpenDAL's async operator: a streamed multipart write takes if_not_exists."""

    def __init__(self, t: Target) -> None:
        import opendal  # type: ignore[import-not-found, import-untyped, unused-ignore]
        from opendal.exceptions import ConditionNotMatch  # type: ignore[import-not-found, import-untyped, unused-ignore]

        self.taken = ConditionNotMatch
        self.op = opendal.AsyncOperator(
            "s3", bucket=t.bucket, endpoint=t.endpoint, region=t.region,
            access_key_id=t.key_id, secret_access_key=t.secret,
        )  # fmt: skip

    async def create(self, key: str, path: Path, size: int) -> None:
        kind = PHOTO if size <= PART else VIDEO
        try:  # one PUT up to a chunk, else multipart; either ends at close, conditional
            out = await self.op.open(
                key, "wb", if_not_exists=True, chunk=PART, concurrent=1, content_type=kind
            )
            with path.open("rb") as source:
                while chunk := await asyncio.to_thread(source.read, 1 << 20):
                    await out.write(chunk)
            await out.close()
        except self.taken as error:
            raise Exists(key) from error

    async def head(self, key: str) -> int:
        return int((await self.op.stat(key)).content_length)

    async def delete(self, key: str) -> None:
        await self.op.delete(key)

    async def count(self, prefix: str) -> int:
        entries = await self.op.list(prefix, recursive=True)
        return sum([1 async for entry in entries if not entry.path.endswith("/")])


@contextlib.asynccontextmanager
async def _client(name: str, t: Target) -> AsyncIterator[Botocore | Obstore | Opendal]:
    if name == "boto3":
        import boto3  # type: ignore[import-not-found, import-untyped, unused-ignore]

        s3 = boto3.client("s3", **_botocore_options(t))
        yield Botocore(t, lambda op, **kw: asyncio.to_thread(getattr(s3, op), **kw))
        s3.close()
    elif name == "aiobotocore":
        from aiobotocore.session import get_session  # type: ignore[import-not-found, import-untyped, unused-ignore]

        async with get_session().create_client("s3", **_botocore_options(t)) as aio:
            yield Botocore(t, lambda op, **kw: getattr(aio, op)(**kw))
    else:
        yield Obstore(t) if name == "obstore" else Opendal(t)


MODULES = {
    "boto3": ("boto3", "botocore.config"),
    "aiobotocore": ("aiobotocore.session", "botocore.config"),
    "obstore": ("obstore", "obstore.store", "obstore.exceptions"),
    "opendal": ("opendal", "opendal.exceptions"),
}


async def _batch(calls: Sequence[Callable[[], Awaitable[object]]]) -> tuple[float, float]:
    """Median wall ms per call (one at a time) and CPU ms per call."""
    walls: list[float] = []
    cpu = time.process_time()
    for call in calls:
        start = time.perf_counter()
        await call()
        walls.append((time.perf_counter() - start) * 1000)
    return statistics.median(walls), (time.process_time() - cpu) * 1000 / len(calls)


async def _refused(client: Botocore | Obstore | Opendal, key: str, path: Path, size: int) -> float:
    try:
        await client.create(key, path, size)
    except Exists:
        return 1.0
    return 0.0


async def _measure(name: str, t: Target, files: Path, ops: int, run: str) -> dict[str, float]:
    small, big = files / "small.bin", files / "big.bin"
    out: dict[str, float] = {}
    start = time.perf_counter()
    for module in MODULES[name]:
        import_module(module)
    out["import ms"] = (time.perf_counter() - start) * 1000
    # Eight threads for boto3 at concurrency 8 (the default pool on 2 cores has 6).
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(CONCURRENCY))
    start = time.perf_counter()
    async with _client(name, t) as client:
        out["client ms"] = (time.perf_counter() - start) * 1000
        for i in range(3):  # connections, lazily loaded models, first-call caches
            await client.create(f"{run}/warm/{i}", small, SMALL)
            await client.delete(f"{run}/warm/{i}")
        keys = [f"{run}/small/{i}" for i in range(ops)]
        bigs = [f"{run}/big/{i}" for i in range(3)]
        puts = [partial(client.create, key, small, SMALL) for key in keys]
        out["put 100 KB ms"], out["put 100 KB cpu ms"] = await _batch(puts)
        out["2nd create refused"] = await _refused(client, keys[0], small, SMALL)
        for label, op in (("head", client.head), ("delete", client.delete)):
            calls = [partial(op, key) for key in keys]
            out[f"{label} ms"], out[f"{label} cpu ms"] = await _batch(calls)
        with RssPeak({"client": os.getpid()}) as rss:
            big_puts = [partial(client.create, key, big, BIG) for key in bigs]
            out["put 20 MB ms"], out["put 20 MB cpu ms"] = await _batch(big_puts)
        out["put 20 MB RSS +MB"] = rss.growth("client") / 1e6
        out["2nd 20 MB refused"] = await _refused(client, bigs[0], big, BIG)
        listings = [partial(client.count, "seed/") for _ in range(3)]
        out["list 1000 ms"], out["list 1000 cpu ms"] = await _batch(listings)
        assert await client.count("seed/") == LISTED
        gate = asyncio.Semaphore(CONCURRENCY)

        async def gated(key: str) -> None:
            async with gate:
                await client.create(key, small, SMALL)

        many = [f"{run}/x8/{i}" for i in range(4 * ops)]
        start, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(gated(key) for key in many))
        out["put 100 KB x8 ops/s"] = len(many) / (time.perf_counter() - start)
        out["put 100 KB x8 cpu ms"] = (time.process_time() - cpu) * 1000 / len(many)
        for key in [*many, *bigs]:
            await client.delete(key)
    return out


def _seed(t: Target) -> None:
    """LISTED tiny keys under seed/, for the listings."""
    import boto3  # type: ignore[import-not-found, import-untyped, unused-ignore]

    s3 = boto3.client("s3", **_botocore_options(t))
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=t.bucket, Key=f"seed/{i:04d}", Body=b"x"),
                      range(LISTED)))  # fmt: skip


def _run_worker(name: str, t: Target, files: Path, ops: int, run: str) -> dict[str, float]:
    job = {"name": name, "target": asdict(t), "files": str(files), "ops": ops, "run": run}
    done = subprocess.run(
        [sys.executable, "-m", "bench.s3_clients"], env={**os.environ, JOB_ENV: json.dumps(job)},
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"{name} failed:\n{done.stderr}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _print_table(results: dict[str, list[dict[str, float]]]) -> None:
    rounds = len(results[CANDIDATES[0]])
    print(f"| median of {rounds} rounds | " + " | ".join(CANDIDATES) + " |")
    print("|---|" + "---:|" * len(CANDIDATES))
    for metric in results[CANDIDATES[0]][0]:
        cells = [statistics.median(r[metric] for r in results[name]) for name in CANDIDATES]
        print(f"| {metric} | " + " | ".join(f"{cell:.2f}" for cell in cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ops", type=int, default=30, help="sequential calls per operation")
    args = parser.parse_args()
    if job := json.loads(os.environ.get(JOB_ENV, "null")):
        t = Target(**job["target"])
        result = asyncio.run(_measure(job["name"], t, Path(job["files"]), job["ops"], job["run"]))
        return print(json.dumps(result))
    if reason := weed_unavailable():
        sys.exit(f"SeaweedFS: {reason}")
    libs: dict[str, str] = {}
    for dist in ("boto3", "botocore", "aiobotocore", "obstore", "opendal"):
        with contextlib.suppress(PackageNotFoundError):
            libs[dist] = version(dist)
    if len(libs) < 5:
        sys.exit("needs boto3, aiobotocore, obstore and opendal: pip install them")
    with tempfile.TemporaryDirectory(prefix="darkroom-s3-") as tmp:
        files = Path(tmp)
        (files / "small.bin").write_bytes(os.urandom(SMALL))
        (files / "big.bin").write_bytes(os.urandom(BIG))
        with running_seaweedfs(files / "seaweedfs") as s3:
            t = Target(s3.endpoint, s3.bucket, s3.access_key_id, s3.secret_access_key, s3.region)
            print(f"SeaweedFS {s3.version} (weed mini) ready in {s3.started_in_s:.2f} s; "
                  + ", ".join(f"{k} {v}" for k, v in libs.items()))  # fmt: skip
            _seed(t)
            results: dict[str, list[dict[str, float]]] = {name: [] for name in CANDIDATES}
            for r in range(args.rounds):
                for name in random.Random(r).sample(CANDIDATES, len(CANDIDATES)):
                    results[name].append(_run_worker(name, t, files, args.ops, f"r{r}-{name}"))
                print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    _print_table(results)


if __name__ == "__main__":
    main()
