"""Wall time to ingest a 10 s 720p H.264 clip: probe + frame + derivatives + remux.

Baseline, same run: PyAV reading every packet of the same file once (the least any
remux must do) plus decoding its first frame.

    .venv/bin/python -m bench.video_processing [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av

from bench.report import Result, print_table, write_json
from server.adapters.codecs.pyav_video import PyAvVideoCodec
from server.adapters.workers import WorkerPool
from tests.support.video import clip


def _median_s(action: Callable[[], object], repeat: int) -> float:
    action()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def video_ingest(repeat: int) -> Result:
    codec = PyAvVideoCodec(WorkerPool(1, 600))
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "clip.mp4"
        source.write_bytes(clip(seconds=10, size=(1280, 720), fps=30))
        work = Path(tmp) / "work"
        work.mkdir()

        def ours() -> None:
            codec.probe_sync(source, "mp4")
            codec.process_sync(source, "mp4", work)

        def floor() -> None:
            with av.open(str(source), "r") as container:
                stream = container.streams.video[0]
                for _ in container.demux(stream):
                    pass
            with av.open(str(source), "r") as container:
                next(container.decode(container.streams.video[0])).to_image()

        return Result(
            "V1", "10 s 720p H.264: probe + frame + derivatives + remux",
            _median_s(ours, repeat) * 1000, _median_s(floor, repeat) * 1000, "ms", "<= 5.0",
            f"10 s 1280x720 30 fps H.264 mp4 ({source.stat().st_size // 1000} KB)",
            f"median of {repeat} after 1 warm-up; baseline: read every packet + decode the "
            "first frame with PyAV",
        )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    results = [video_ingest(args.repeat)]
    print_table(results)
    print(f"written to {write_json(results, 'video_processing.json')}")


if __name__ == "__main__":
    main()
