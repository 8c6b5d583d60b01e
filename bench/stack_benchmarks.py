"""Benchmarks against a running stack ('darkroom serve'), each with its same-run baseline."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import httpx
import psutil

from bench.cpu_per_image import floor
from bench.report import Result
from darkroom.v1 import media_pb2, media_pb2_grpc
from tests.support.media import jpeg
from tests.support.rss import RssPeak
from tests.support.stack import Stack
from tests.support.waiting import wait_until


def _median_ms(action: Callable[[], object], repeat: int, warmup: int = 5) -> float:
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def _direct_stub(stack: Stack) -> media_pb2_grpc.MediaServiceStub:
    port = int(str(stack.ready["grpc_port"]))
    channel = grpc.insecure_channel(
        f"127.0.0.1:{port}", options=[("grpc.max_send_message_length", 64 * 1024 * 1024)]
    )
    return media_pb2_grpc.MediaServiceStub(channel)


def p2_server_cpu(stack: Stack, repeat: int) -> Result:
    """Server CPU per 12 MP JPEG upload against Pillow doing only the unavoidable work."""
    photo = jpeg(4000, 3000, seed=12)
    stub = _direct_stub(stack)
    server = psutil.Process(stack.pid("grpc server"))
    request = media_pb2.UploadRequest(
        file=photo, options=media_pb2.UploadOptions(filename="p2.jpg")
    )
    metadata = stack.admin_metadata()
    for _ in range(3):
        stub.Upload(request, metadata=metadata)
    before = server.cpu_times()
    for _ in range(repeat):
        stub.Upload(request, metadata=metadata)
    after = server.cpu_times()
    ours = (after.user + after.system - before.user - before.system) / repeat * 1000

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "p2.jpg"
        source.write_bytes(photo)
        for _ in range(3):
            floor(source, Path(tmp))
        start = time.process_time()
        for _ in range(repeat):
            floor(source, Path(tmp))
        base = (time.process_time() - start) / repeat * 1000
    return Result(
        "P2",
        "server CPU per 12 MP JPEG upload (thumb + medium)",
        ours,
        base,
        "ms",
        "<= 1.15",
        f"12 MP photo-like JPEG ({len(photo) // 1000} KB), direct gRPC Upload",
        f"server process CPU (user+sys) over {repeat} uploads after 3 warm-up; baseline: "
        "Pillow draft decode + thumb + medium + JPEG encode, same file, this process",
    )


def p3_rest_latency(stack: Stack, repeat: int) -> Result:
    """Median latency of a 100 KB upload through Envoy + shim against direct gRPC."""
    photo = jpeg(680, 510, seed=3)  # about 100 KB of photo-like data
    stub = _direct_stub(stack)
    request = media_pb2.UploadRequest(
        file=photo, options=media_pb2.UploadOptions(filename="p3.jpg")
    )
    metadata = stack.admin_metadata()
    with httpx.Client(base_url=stack.url, timeout=60) as http:

        def rest() -> None:
            reply = http.post(
                "/api/1/upload",
                headers={"X-API-Key": stack.admin_key},
                files={"source": ("p3.jpg", photo, "image/jpeg")},
            )
            reply.raise_for_status()

        def direct() -> None:
            stub.Upload(request, metadata=metadata)

        # Interleave the two so drifting machine load hits both alike.
        rest_ms, grpc_ms = [], []
        for _ in range(5):
            rest()
            direct()
        for _ in range(repeat):
            rest_ms.append(_median_ms(rest, 1, warmup=0))
            grpc_ms.append(_median_ms(direct, 1, warmup=0))
    return Result(
        "P3",
        "median latency, 100 KB upload via REST (Envoy + shim)",
        statistics.median(rest_ms),
        statistics.median(grpc_ms),
        "ms",
        "<= 1.3",
        f"{len(photo) // 1000} KB photo-like JPEG, multipart, format=json",
        f"{repeat} uploads each, interleaved with direct gRPC Upload to the server, 5 warm-up",
    )


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=30).status_code == 200
    except httpx.TransportError:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wrk_rps(
    url: str,
    seconds: int,
    connections: int,
    script: Path | None = None,
    env: dict[str, str] | None = None,
) -> float:
    """Requests/s that wrk reaches; any non-2xx answer fails the run."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s"]
    if script is not None:
        command += ["-s", str(script)]
    out = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, env=env
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None or "Non-2xx" in out:
        raise RuntimeError(f"wrk run failed:\n{out}")
    return float(match.group(1))


def p4_thumbnail_gets(stack: Stack, seconds: int) -> Result:
    """Thumbnail GET requests/s from Envoy's file server against nginx on the same file."""
    if shutil.which("wrk") is None or shutil.which("nginx") is None:
        raise RuntimeError("wrk and nginx are needed (bench/run installs them as root)")
    reply = _direct_stub(stack).Upload(
        media_pb2.UploadRequest(
            file=jpeg(1600, 1200, seed=4), options=media_pb2.UploadOptions(filename="p4.jpg")
        ),
        metadata=stack.admin_metadata(),
    )
    thumb_url = reply.media.thumb.url
    thumb_path = thumb_url.split("/images/", 1)[1]
    envoy_url = f"{stack.url}images/{thumb_path}"

    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(
            # Workers read the stack's private temp directory as the user running this.
            ("user root;\n" if os.geteuid() == 0 else "")
            + f"""
worker_processes 2;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  types {{ image/jpeg jpg jpeg; }}
  server {{
    listen 127.0.0.1:{port};
    location /images/ {{ root {stack.media_root}; add_header X-Content-Type-Options nosniff; }}
  }}
}}
"""
        )
        nginx = subprocess.Popen(["nginx", "-c", str(conf), "-g", "daemon off;"])
        try:
            nginx_url = f"http://127.0.0.1:{port}/images/{thumb_path}"
            wait_until(lambda: _answers(nginx_url), 10, "nginx start")
            _wrk_rps(envoy_url, 1, 32)  # warm-up
            _wrk_rps(nginx_url, 1, 32)
            envoy_rps = statistics.median(_wrk_rps(envoy_url, seconds, 32) for _ in range(3))
            nginx_rps = statistics.median(_wrk_rps(nginx_url, seconds, 32) for _ in range(3))
        finally:
            nginx.terminate()
            nginx.wait()
    size = (stack.media_root / "images" / thumb_path).stat().st_size
    return Result(
        "P4",
        "thumbnail GET requests/s through Envoy's file server",
        envoy_rps,
        nginx_rps,
        "r/s",
        ">= 0.40",
        f"one {size // 1000} KB 320x320 thumbnail, same file for both",
        f"wrk -t2 -c32, median of 3 x {seconds} s each after a 1 s warm-up; baseline nginx "
        "(sendfile) on the same directory",
    )


def _raise_size_limit(stack: Stack, megabytes: int) -> None:
    with httpx.Client(base_url=stack.url, timeout=30) as http:
        http.patch(
            "/v1/settings",
            json={"upload_max_filesize_mb": megabytes},
            headers={"X-API-Key": stack.admin_key},
        ).raise_for_status()


def p5_big_video_memory(stack: Stack, video: Path) -> list[Result]:
    """RSS growth of the server and the shim while a ~1 GB video streams in."""
    _raise_size_limit(stack, 2000)
    size = video.stat().st_size
    pids = {"server": stack.pid("grpc server"), "shim": stack.pid("shim")}
    idle = {name: psutil.Process(pid).memory_info().rss for name, pid in pids.items()}
    chunk = 1024 * 1024

    def multipart() -> Iterator[bytes]:
        yield (
            b'--big\r\nContent-Disposition: form-data; name="source"; filename="big.mp4"\r\n'
            b"Content-Type: video/mp4\r\n\r\n"
        )
        with open(video, "rb") as handle:
            while block := handle.read(chunk):
                yield block
        yield b"\r\n--big--\r\n"

    with RssPeak(pids) as rest, httpx.Client(base_url=stack.url, timeout=600) as http:
        reply = http.post(
            "/api/1/upload",
            headers={"X-API-Key": stack.admin_key,
                     "Content-Type": "multipart/form-data; boundary=big"},
            content=multipart(),
        )  # fmt: skip
    reply.raise_for_status()
    rest_duration = reply.json()["image"]["duration"]

    def stream() -> Iterator[media_pb2.UploadStreamRequest]:
        yield media_pb2.UploadStreamRequest(
            options=media_pb2.UploadOptions(filename="big-grpc.mp4")
        )
        with open(video, "rb") as handle:
            while block := handle.read(chunk):
                yield media_pb2.UploadStreamRequest(chunk=block)

    with RssPeak({"server": pids["server"]}) as native:
        stack.media_stub().UploadStream(stream(), metadata=stack.admin_metadata(), timeout=600)
    mib = 1024 * 1024
    common = f"{size / 1e9:.2f} GB H.264 1080p mp4 ({rest_duration} s)"
    results = []
    for label, peak, name in (
        ("server, REST upload", rest, "server"),
        ("shim, REST upload", rest, "shim"),
        ("server, gRPC UploadStream via Envoy", native, "server"),
    ):
        results.append(
            Result(
                "P5",
                f"RSS growth: {label}",
                peak.growth(name) / mib,
                64.0,
                "MB",
                "<= 1.0",
                common,
                f"peak RSS sampled every 10 ms minus RSS before; baseline = the 64 MB budget "
                f"(idle RSS {idle[name] / mib:.0f} MB)",
            )
        )
    return results


_WRK_POST = """
local f = assert(io.open(os.getenv("WRK_BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "multipart/form-data; boundary=wrkwrk"
wrk.headers["X-API-Key"] = os.getenv("WRK_API_KEY")
"""


def _multipart_file(path: Path, photo: bytes, name: str) -> Path:
    path.write_bytes(
        b'--wrkwrk\r\nContent-Disposition: form-data; name="source"; filename="' + name.encode()
        + b'"\r\nContent-Type: image/jpeg\r\n\r\n' + photo + b"\r\n--wrkwrk--\r\n"
    )  # fmt: skip
    return path


def _wrk_upload_rps(stack: Stack, body: Path, seconds: int, connections: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(_WRK_POST)
        env = {**os.environ, "WRK_BODY_FILE": str(body), "WRK_API_KEY": stack.admin_key}
        return _wrk_rps(f"{stack.url}api/1/upload", seconds, connections, script, env)


def p1_rest_throughput(stack: Stack, seconds: int) -> Result:
    """REST uploads/s of a 1 MP JPEG at 4 concurrent clients vs the in-process pipeline."""
    from bench.inprocess import pipeline_uploads_per_second

    photo = jpeg(1152, 864, seed=21)
    with tempfile.TemporaryDirectory() as tmp:
        body = _multipart_file(Path(tmp) / "p1.body", photo, "p1.jpg")
        _wrk_upload_rps(stack, body, 1, 4)  # warm-up
        rest = statistics.median(_wrk_upload_rps(stack, body, seconds, 4) for _ in range(3))
        floor_rps = pipeline_uploads_per_second(photo, Path(tmp) / "inproc", seconds, 4)
    return Result(
        "P1",
        "REST upload throughput, 1 MP JPEG, 4 clients",
        rest,
        floor_rps,
        "/s",
        ">= 0.80",
        f"1 MP photo-like JPEG ({len(photo) // 1000} KB), multipart, format=json",
        f"wrk -c4 POST /api/1/upload through Envoy, median of 3 x {seconds} s; baseline: "
        "IngestService.upload called in-process by 4 concurrent tasks, same files",
    )


def p6_derivative_vs_thumbor(stack: Stack, seconds: int, thumbor_python: Path) -> Result:
    """12 MP JPEG in, 500 px derivative out, requests/s: Darkroom upload vs thumbor."""
    photo = jpeg(4000, 3000, seed=66)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "images").mkdir()
        (root / "images" / "photo.jpg").write_bytes(photo)
        port = _free_port()
        (root / "thumbor.conf").write_text(
            f"LOADER = 'thumbor.loaders.file_loader'\nFILE_LOADER_ROOT_PATH = '{root}/images'\n"
            "STORAGE = 'thumbor.storages.no_storage'\nRESULT_STORAGE = None\n"
            "QUALITY = 90\nMAX_AGE = 0\n"
        )
        thumbor = subprocess.Popen(
            [str(thumbor_python), "-c", "from thumbor.server import main; main()",
             "--port", str(port), "--conf",
             str(root / "thumbor.conf"), "--processes", "0", "-l", "error"],
            start_new_session=True,  # its forked workers go down with the group
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}/unsafe/500x0/photo.jpg"
            wait_until(lambda: _answers(url), 30, "thumbor start")
            body = _multipart_file(root / "p6.body", photo, "p6.jpg")
            _wrk_upload_rps(stack, body, 1, 4)
            ours = statistics.median(_wrk_upload_rps(stack, body, seconds, 4) for _ in range(3))
            _wrk_rps(url, 1, 4)
            theirs = statistics.median(_wrk_rps(url, seconds, 4) for _ in range(3))
        finally:
            os.killpg(thumbor.pid, signal.SIGTERM)
            thumbor.wait()
    return Result(
        "P6",
        "12 MP JPEG -> 500 px derivative, requests/s vs thumbor 7",
        ours,
        theirs,
        "/s",
        ">= 1.5",
        f"12 MP photo-like JPEG ({len(photo) // 1000} KB)",
        f"wrk -c4, median of 3 x {seconds} s: Darkroom REST upload (stores original, thumb "
        "and 500 px medium) vs thumbor /unsafe/500x0/ from its file loader, no storage, "
        "--processes 0, quality 90",
    )
