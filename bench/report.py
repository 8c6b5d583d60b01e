"""One benchmark result as a ratio to a baseline from the same run, and the run's table."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

import grpc
import PIL

RESULTS = Path(__file__).parent / "results"


@dataclass
class Result:
    id: str
    measures: str
    ours: float
    baseline: float
    unit: str
    target: str  # e.g. ">= 0.80" or "<= 1.15"
    inputs: str
    method: str
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline if self.baseline else float("inf")

    @property
    def met(self) -> bool:
        op, bound = self.target.split()
        return self.ratio >= float(bound) if op == ">=" else self.ratio <= float(bound)


def _envoy_version() -> str:
    try:
        out = subprocess.run(["envoy", "--version"], capture_output=True, text=True, check=False)
    except OSError:
        return "not installed"
    match = re.search(r"/(\d+\.\d+\.\d+)/", out.stdout)
    return match.group(1) if match else out.stdout.strip()[:40]


def machine() -> dict[str, object]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "pillow": PIL.__version__,
        "grpcio": grpc.__version__,
        "envoy": _envoy_version(),
    }


def print_table(results: list[Result]) -> None:
    info = machine()
    print(", ".join(f"{k}: {v}" for k, v in info.items()))
    header = (
        f"{'id':4} {'measures':52} {'ours':>12} {'baseline':>12} {'ratio':>7} {'target':>8}  ok"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.id:4} {r.measures[:52]:52} {r.ours:>10.2f}{r.unit[:2]:>2} "
            f"{r.baseline:>10.2f}{r.unit[:2]:>2} {r.ratio:>7.3f} {r.target:>8}  "
            f"{'yes' if r.met else 'NO'}"
        )
        for note in r.notes:
            print(f"     {note}")


def write_json(results: list[Result], name: str = "latest.json") -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / name
    document = {
        "machine": machine(),
        "results": [{**asdict(r), "ratio": round(r.ratio, 4), "met": r.met} for r in results],
    }
    path.write_text(json.dumps(document, indent=2))
    return path
