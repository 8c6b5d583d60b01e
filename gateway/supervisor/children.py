"""The children of ``darkroom serve`` and the policy that heals them.

A child that exits or is killed is started again after a back-off that doubles with
each crash in a row (0.5 s, 1 s, 2 s, ... at most 10 s); a child that has run for a while
before it died starts the count afresh. Only repeated fast crashes (a child that keeps
dying within seconds of starting, e.g. a port taken or a broken config) make the
supervisor give up, and then it exits non-zero so systemd or any process manager above it
takes over.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

FAST_CRASH_S = 10.0
MAX_FAST_CRASHES = 5
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 10.0


PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the supervisor dies (Linux; else no-op)."""
    name = ctypes.util.find_library("c")
    if name is not None:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(name).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class GaveUp(Exception):
    """A child keeps crashing right after it starts: restarting it again will not help."""


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    fast_crashes: int = 0
    restart_at: float | None = None

    def start(self) -> None:
        # A process group of its own, so Ctrl-C in a terminal reaches only the
        # supervisor, which then drains in order (Envoy last); and a parent-death signal,
        # so a supervisor killed with SIGKILL takes its children with it.
        self.process = subprocess.Popen(
            self.argv, env=self.env, process_group=0, preexec_fn=_die_with_parent
        )
        self.started_at = time.monotonic()
        self.restart_at = None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def how_it_ended(self) -> str:
        assert self.process is not None
        code = self.process.returncode
        if code is not None and code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit status {code}"

    def terminate(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.terminate()

    def wait_or_kill(self, deadline: float) -> None:
        """Wait for it to end until ``deadline`` (monotonic), then SIGKILL it."""
        if self.process is None:
            return
        try:
            self.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def stop(self, timeout_s: float) -> None:
        """SIGTERM, then SIGKILL if it has not ended within ``timeout_s``."""
        self.terminate()
        self.wait_or_kill(time.monotonic() + timeout_s)


@dataclass
class Children:
    log: Callable[[str], None]
    members: list[Child] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> Child:
        child = Child(name, argv, env)
        child.start()
        self.members.append(child)
        return child

    def dead(self) -> list[Child]:
        return [child for child in self.members if not child.alive()]

    def heal(self) -> list[Child]:
        """Schedule or perform the restart of every child that is gone; the restarted."""
        restarted = []
        now = time.monotonic()
        for child in self.members:
            if child.alive():
                if child.fast_crashes and now - child.started_at > FAST_CRASH_S:
                    child.fast_crashes = 0  # it has settled: the next crash starts afresh
                continue
            if child.restart_at is None:
                ran_s = now - child.started_at
                child.fast_crashes = child.fast_crashes + 1 if ran_s < FAST_CRASH_S else 1
                if child.fast_crashes > MAX_FAST_CRASHES:
                    raise GaveUp(
                        f"{child.name} ended {child.fast_crashes} times in a row within "
                        f"{FAST_CRASH_S:.0f} s of starting ({child.how_it_ended()}); giving up"
                    )
                delay = min(FIRST_BACKOFF_S * 2 ** (child.fast_crashes - 1), MAX_BACKOFF_S)
                child.restart_at = now + delay
                self.log(
                    f"{child.name} stopped ({child.how_it_ended()}); restarting in {delay:g} s"
                )
            elif now >= child.restart_at:
                child.start()
                restarted.append(child)
                self.log(f"{child.name} restarted (pid {child.pid})")
        return restarted
