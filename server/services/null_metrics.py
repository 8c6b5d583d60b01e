"""Metrics that go nowhere: what a service measures into when nobody watches (tests, CLI)."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

from server.ports import UploadStage


class NullMetrics:
    def stage(self, stage: UploadStage) -> AbstractContextManager[None]:
        return nullcontext()

    def upload_finished(self, outcome: str, reason: str, kind: str, media_format: str) -> None:
        pass

    def bytes_received(self, count: int) -> None:
        pass

    def bytes_stored(self, count: int) -> None:
        pass

    def flood_refused(self, window: str) -> None:
        pass

    def expired_deleted(self, count: int) -> None:
        pass


NULL_METRICS = NullMetrics()
