"""Peak resident memory of processes while a block runs, sampled in the background."""

from __future__ import annotations

import threading
from collections.abc import Mapping

import psutil


class RssPeak:
    def __init__(self, pids: Mapping[str, int]) -> None:
        self._processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.base = {name: self._rss(name) for name in self._processes}
        self.peak = dict(self.base)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self, name: str) -> int:
        return int(self._processes[name].memory_info().rss)

    def _sample(self) -> None:
        for name in self._processes:
            self.peak[name] = max(self.peak[name], self._rss(name))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(0.01)

    def __enter__(self) -> RssPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def growth(self, name: str) -> int:
        return self.peak[name] - self.base[name]
