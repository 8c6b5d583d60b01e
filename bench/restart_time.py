"""How long the service is out after a child is killed: SIGKILL to the next good upload.

Starts ``darkroom serve`` as a user runs it, then for each child (gRPC server, shim,
Envoy) in turn, several times: once the child has run long enough to count as settled
(gateway/supervisor/children.py: its first restart waits the shortest back-off), kill it
with SIGKILL and upload a small photo every 20 ms until one is answered 200. Printed per
child: the median and worst time from the kill to that answer, and how long the
supervisor took to start the replacement (the ready file names its new pid). Not a
test: it asserts nothing about speed.

    .venv/bin/python -m bench.restart_time [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from gateway.supervisor.children import FAST_CRASH_S
from tests.support.media import jpeg
from tests.support.stack import Stack, start_stack

CHILDREN = ("grpc server", "shim", "envoy")
PHOTO = jpeg(320, 240, seed=5)
GIVE_UP_S = 60.0


def _upload_ok(http: httpx.Client, stack: Stack) -> bool:
    try:
        answer = http.post(
            "/api/1/upload",
            headers={"X-API-Key": stack.admin_key},
            files={"source": ("r.jpg", PHOTO, "image/jpeg")},
        )
    except httpx.TransportError:
        return False
    return answer.status_code == 200


def _one_kill(stack: Stack, child: str) -> tuple[float, float]:
    """Seconds from SIGKILL to the new pid in the ready file, and to a 200 upload."""
    old = stack.pid(child)
    settled_at = psutil.Process(old).create_time() + FAST_CRASH_S + 0.5
    time.sleep(max(0.0, settled_at - time.time()))  # until a crash is a first crash again
    replaced: float | None = None
    with httpx.Client(base_url=stack.url, timeout=10) as http:
        assert _upload_ok(http, stack), "the stack should be up before the kill"
        killed = time.monotonic()
        os.kill(old, signal.SIGKILL)
        while time.monotonic() - killed < GIVE_UP_S:
            if replaced is None and stack.pid(child) != old:
                replaced = time.monotonic() - killed
            if replaced is not None and _upload_ok(http, stack):
                return replaced, time.monotonic() - killed
            time.sleep(0.02)  # poll interval of the probe, not a wait for a state
    raise TimeoutError(f"no good upload {GIVE_UP_S:.0f} s after killing the {child}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="darkroom-restart-") as tmp:
        stack = start_stack(Path(tmp))
        try:
            print(f"{'child':<12} {'respawn p50':>12} {'back p50':>10} {'back max':>10}  rounds")
            for child in CHILDREN:
                times = [_one_kill(stack, child) for _ in range(args.rounds)]
                respawn = statistics.median(t[0] for t in times)
                back = [t[1] for t in times]
                print(
                    f"{child:<12} {respawn:>11.2f}s {statistics.median(back):>9.2f}s "
                    f"{max(back):>9.2f}s  {args.rounds}"
                )
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
