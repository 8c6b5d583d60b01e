"""Run Darkroom's benchmarks against a freshly started stack and print the ratio table.

    .venv/bin/python -m bench.run [--only P2,P3] [--repeat 60] [--seconds 5]

Every figure is a ratio to a baseline measured in the same run (these machines are
shared and noisy); the table also goes to bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.inputs import big_video
from bench.report import Result, print_table, write_json
from bench.stack_benchmarks import (
    p1_rest_throughput,
    p2_server_cpu,
    p3_rest_latency,
    p4_thumbnail_gets,
    p5_big_video_memory,
    p6_derivative_vs_thumbor,
)
from tests.support.stack import Stack, start_stack

THUMBOR_VENV = Path(tempfile.gettempdir()) / "darkroom-bench-thumbor"


def _thumbor_python() -> Path:
    """thumbor 7 in a venv of its own (its pins must not touch Darkroom's)."""
    python = THUMBOR_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(THUMBOR_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "thumbor>=7,<8"], check=True)
    return python


def _ensure_tools() -> None:
    missing = [tool for tool in ("wrk", "nginx") if shutil.which(tool) is None]
    if missing and Path("/usr/bin/apt-get").exists():
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk", "nginx-light"], check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma separated ids, e.g. P2,P3")
    parser.add_argument("--repeat", type=int, default=60, help="samples for latency/CPU")
    parser.add_argument("--seconds", type=int, default=5, help="length of each load run")
    parser.add_argument("--video-bytes", type=int, default=1_000_000_000, help="size of P5's video")
    args = parser.parse_args()
    _ensure_tools()
    wanted = {item.strip().upper() for item in args.only.split(",") if item.strip()}
    video = Path(tempfile.gettempdir()) / "darkroom-bench-1gb.mp4"
    benchmarks: dict[str, Callable[[Stack], list[Result]]] = {
        "P1": lambda stack: [p1_rest_throughput(stack, args.seconds)],
        "P2": lambda stack: [p2_server_cpu(stack, max(10, args.repeat // 4))],
        "P3": lambda stack: [p3_rest_latency(stack, args.repeat)],
        "P4": lambda stack: [p4_thumbnail_gets(stack, args.seconds)],
        "P5": lambda stack: p5_big_video_memory(stack, big_video(video, args.video_bytes)),
        "P6": lambda stack: [p6_derivative_vs_thumbor(stack, args.seconds, _thumbor_python())],
    }
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="darkroom-bench-") as tmp:
        # P5 streams a ~1 GB video: the process ceiling must allow it (DARKROOM_MAX_UPLOAD_MB).
        stack = start_stack(Path(tmp) / "stack", {"DARKROOM_MAX_UPLOAD_MB": "2000"})
        try:
            for bench_id, run in benchmarks.items():
                if wanted and bench_id not in wanted:
                    continue
                print(f"running {bench_id} ...", file=sys.stderr, flush=True)
                results.extend(run(stack))
        finally:
            stack.stop()
    print_table(results)
    print(f"written to {write_json(results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
