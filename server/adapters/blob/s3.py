"""Blobs as objects in an S3-compatible bucket (SeaweedFS, MinIO, Garage, AWS).

The client is boto3, chosen by measurement (``python -m bench.s3_clients``, figures in
docs/deploy.md): it is the one well-kept client that can both refuse to replace an
object (``If-None-Match: *``) on a multipart upload and stream the parts from the file.
obstore holds the whole file in memory for a conditional put; aiobotocore costs three
times the import and pins botocore exactly, for no gain here. boto3 is synchronous, so
its calls run on a thread pool of their own, never on the event loop.

A put is one create-only PUT up to ``part_size``, above it a multipart upload whose
parts are read from the file as they are sent (memory: one socket buffer, not a part)
and whose completion is itself create-only. An object is visible under its key only once
complete, and a clash is refused by the store atomically (412), as ``link`` refuses it
on the local disk. Every object names the scratch file it came from in its metadata, so
reclaiming a dead process's scratch deletes only the objects its uploads stored.

Scratch stays on local disk (``data_dir/scratch``), one directory per process, as for
the local store (scratch.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar, cast

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from darkroom.v1.media_types import MIME_OF_EXTENSION
from server.adapters.blob.scratch import ProcessScratch, append_journal
from server.domain.errors import StorageFailure
from server.domain.storage import StoredBlob
from server.ports import BlobExists

if TYPE_CHECKING:
    from types_boto3_s3.client import S3Client

T = TypeVar("T")
SOURCE_META = "darkroom-scratch"  # x-amz-meta-darkroom-scratch: the file it came from
# S3 allows 10,000 parts; parts stay at part_size until a file would need more.
MAX_PARTS = 10_000
THREADS = 16
CLASHES = ("PreconditionFailed", "ConditionalRequestConflict")


@dataclass(frozen=True)
class S3Location:
    endpoint: str
    bucket: str
    region: str
    access_key_id: str
    secret_access_key: str
    path_style: bool = True


def make_client(where: S3Location, pool: int = THREADS) -> S3Client:
    return boto3.client(
        "s3",
        endpoint_url=where.endpoint,
        region_name=where.region,
        aws_access_key_id=where.access_key_id,
        aws_secret_access_key=where.secret_access_key,
        config=Config(
            s3={"addressing_style": "path" if where.path_style else "virtual"},
            max_pool_connections=pool,
            retries={"mode": "standard", "max_attempts": 3},
            connect_timeout=5,
            read_timeout=60,
        ),
    )


class FilePart(io.RawIOBase):
    """Bytes [start, start + length) of a file, read as sent: one part without holding
    it in memory. Seekable, so botocore can checksum it and rewind it for a retry."""

    def __init__(self, path: Path, start: int, length: int) -> None:
        super().__init__()
        self._file = path.open("rb", buffering=0)
        self._start, self._length, self._pos = start, length, 0
        self._file.seek(start)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}[whence]
        self._pos = max(0, min(self._length, base + offset))
        self._file.seek(self._start + self._pos)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._length - self._pos)
        got = self._file.readinto(memoryview(buffer)[:want]) if want > 0 else 0
        self._pos += got or 0
        return got or 0

    def close(self) -> None:
        self._file.close()
        super().close()


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


class S3BlobStore:
    def __init__(self, client: S3Client, bucket: str, scratch_root: Path, part_size: int) -> None:
        self._s3 = client
        self.bucket = bucket
        self.part_size = part_size
        self.scratch = ProcessScratch(scratch_root, self.still_stored)
        self._threads = ThreadPoolExecutor(THREADS, thread_name_prefix="s3")

    async def _call(self, work: Callable[[], T], key: str) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._threads, work)
        except ClientError as error:
            # 409: AWS's answer to a conditional write racing another on the same key.
            if _code(error) in CLASHES or _status(error) in (409, 412):
                raise BlobExists(key) from error
            raise StorageFailure(path=key, error=f"S3 {_code(error) or _status(error)}") from error
        except BotoCoreError as error:  # unreachable endpoint, timeouts after retries
            raise StorageFailure(path=key, error=type(error).__name__) from error

    # --- BlobStore ------------------------------------------------------------------------

    def scratch_dir(self) -> Path:
        return self.scratch.own_dir()

    async def journal(self, workdir: Path, key: str, source: Path) -> None:
        await asyncio.to_thread(append_journal, workdir, key, source)

    async def put(self, key: str, source: Path) -> None:
        try:
            await self._call(partial(self._put, key, source), key)
        except BlobExists:
            # boto3 retries a request whose answer was lost: the retry of our own
            # successful create is refused as a clash. Ours if it names our source.
            if not await self.still_stored(key, source):
                raise

    def _put(self, key: str, source: Path) -> None:
        extension = key.rpartition(".")[2].lower()
        headers: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            # Always sent: SeaweedFS would store text/plain, and Envoy serves what is stored.
            "ContentType": MIME_OF_EXTENSION.get(extension, "application/octet-stream"),
            "Metadata": {SOURCE_META: self._source_name(source)},
        }
        size = source.stat().st_size
        if size <= self.part_size:
            with source.open("rb") as body:
                self._s3.put_object(Body=body, IfNoneMatch="*", **headers)
            return
        self._multipart(headers, source, size)

    def _multipart(self, headers: dict[str, Any], source: Path, size: int) -> None:
        part = max(self.part_size, -(-size // MAX_PARTS))
        bucket, key = headers["Bucket"], headers["Key"]
        upload = self._s3.create_multipart_upload(**headers)["UploadId"]
        try:
            done = []
            for number, start in enumerate(range(0, size, part), 1):
                with FilePart(source, start, min(part, size - start)) as raw:
                    body = cast(IO[bytes], raw)  # a RawIOBase: the file protocol boto reads
                    answer = self._s3.upload_part(
                        Bucket=bucket, Key=key, UploadId=upload, PartNumber=number, Body=body
                    )
                done.append({"PartNumber": number, "ETag": answer["ETag"]})
            self._s3.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload, IfNoneMatch="*",
                MultipartUpload={"Parts": done},  # type: ignore[typeddict-item]
            )  # fmt: skip
        except BaseException:
            # A clash (412) or a failure: the parts must not linger, billed and invisible.
            # If even that fails, the store's lifecycle rules (or an operator) clear it.
            with contextlib.suppress(ClientError, BotoCoreError):
                self._s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
            raise

    async def exists(self, key: str) -> bool:
        return await self._call(partial(self._head, key), key) is not None

    def _head(self, key: str) -> dict[str, str] | None:
        """The object's user metadata, or None when there is no such object."""
        try:
            answer = self._s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _status(error) == 404 or _code(error) in ("404", "NoSuchKey"):
                return None
            raise
        return dict(answer.get("Metadata", {}))

    async def delete(self, key: str) -> None:
        # S3 answers 204 for a key that is not there: a missing blob is no error.
        await self._call(partial(self._s3.delete_object, Bucket=self.bucket, Key=key), key)

    async def listing(self, prefix: str) -> list[StoredBlob]:
        return await self._call(partial(self._listing, prefix), prefix)

    def _listing(self, prefix: str) -> list[StoredBlob]:
        now = time.time()
        found = []
        pages = self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                age = now - item["LastModified"].timestamp()
                found.append(StoredBlob(item["Key"], max(0.0, age)))
        return found

    # --- scratch ----------------------------------------------------------------------------

    async def still_stored(self, key: str, source: Path) -> bool:
        """Whether ``key`` is still the object stored from ``source`` (its metadata says)."""
        metadata = await self._call(partial(self._head, key), key)
        return metadata is not None and metadata.get(SOURCE_META) == self._source_name(source)

    def _source_name(self, source: Path) -> str:
        # proc-<pid>-<random>/upload-<random>/<file>: unique among all processes ever.
        return os.path.relpath(source, self.scratch.root)

    async def check(self) -> None:
        """Fail at start, with the reason, when the bucket cannot be reached or is not there."""
        await self._call(partial(self._s3.head_bucket, Bucket=self.bucket), self.bucket)

    def close(self) -> None:
        self._threads.shutdown(wait=True)
        self._s3.close()
