"""CPU time per uploaded JPEG: Darkroom's image pipeline against a bare Pillow floor.

Darkroom: ``PillowImageCodec.process_sync`` — sniffed JPEG → header → draft decode →
orientation → lossless metadata strip → thumb 320x320 + medium 500 → md5s → files.
Floor: Pillow alone doing only draft decode + thumb + medium + JPEG encode, the least
work any server must do for the same answer. Both run in this process, one thread,
same files; CPU time (time.process_time), warm-up 2, median of --repeat runs.

    .venv/bin/python -m bench.cpu_per_image [--repeat 15]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import PIL
from PIL import Image, ImageOps

from server.adapters.codecs.pillow.codec import PillowImageCodec
from server.adapters.workers import WorkerPool
from tests.support.media import jpeg

SIZES = {"1 MP": (1152, 864), "12 MP": (4000, 3000)}
RESULTS = Path(__file__).parent / "results"


def floor(path: Path, out: Path) -> None:
    with Image.open(path) as im:
        w, h = im.size
        scale = max(320 / min(w, h), 500 / w)  # the smallest decode both outputs allow
        im.draft("RGB", (math.ceil(w * scale), math.ceil(h * scale)))
        im.load()
        thumb = ImageOps.fit(im, (320, 320), Image.Resampling.LANCZOS)
        thumb.save(out / "t.jpg", "JPEG", quality=90)
        medium = im.resize((500, round(500 * h / w)), Image.Resampling.LANCZOS, reducing_gap=3)
        medium.save(out / "m.jpg", "JPEG", quality=90)


def cpu_seconds(action: Callable[[], object], repeat: int) -> float:
    for _ in range(2):
        action()
    samples = []
    for _ in range(repeat):
        start = time.process_time()
        action()
        samples.append(time.process_time() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    codec = PillowImageCodec(WorkerPool(1, 600))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for label, (w, h) in SIZES.items():
            source = work / f"{w}x{h}.jpg"
            source.write_bytes(jpeg(w, h, seed=w))
            out = work / "out"
            out.mkdir(exist_ok=True)
            ours = cpu_seconds(partial(codec.process_sync, source, "jpeg", None, out), args.repeat)
            base = cpu_seconds(partial(floor, source, out), args.repeat)
            rows.append(
                {
                    "input": f"{label} JPEG ({w}x{h}, {source.stat().st_size // 1000} KB)",
                    "darkroom_cpu_ms": round(ours * 1000, 1),
                    "pillow_floor_cpu_ms": round(base * 1000, 1),
                    "ratio": round(ours / base, 3),
                }
            )
    report = {
        "benchmark": "cpu_per_image",
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "pillow": PIL.__version__,
        "repeat": args.repeat,
        "rows": rows,
    }
    print(f"{'input':38} {'darkroom ms':>12} {'floor ms':>10} {'ratio':>7}")
    for row in rows:
        print(
            f"{row['input']:38} {row['darkroom_cpu_ms']:>12} {row['pillow_floor_cpu_ms']:>10} "
            f"{row['ratio']:>7}"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cpu_per_image.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
