"""Flood protection: recent uploads per key and per client address (§8, §11).

Chevereto counts per address only; Darkroom counts both, so neither a shared NAT nor
one key spread over many addresses can flood. Admin keys are exempt (bulk imports).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from server.domain import errors
from server.domain.caller import Caller
from server.ports import UploadCounts, UploadMetrics
from server.services.null_metrics import NULL_METRICS
from server.services.settings import UploadSettings

_WINDOWS = (
    ("minute", timedelta(minutes=1), "flood_uploads_per_minute"),
    ("hour", timedelta(hours=1), "flood_uploads_per_hour"),
    ("day", timedelta(days=1), "flood_uploads_per_day"),
    ("week", timedelta(weeks=1), "flood_uploads_per_week"),
    ("month", timedelta(days=30), "flood_uploads_per_month"),
)


class FloodGuard:
    def __init__(self, counts: UploadCounts, metrics: UploadMetrics = NULL_METRICS) -> None:
        self._counts = counts
        self._metrics = metrics

    async def check(
        self, caller: Caller, client_ip: str, settings: UploadSettings, now: datetime
    ) -> None:
        if not settings.flood_protection or caller.is_admin:
            return
        windows = [
            (unit, span, int(getattr(settings, setting)))
            for unit, span, setting in _WINDOWS
            if int(getattr(settings, setting)) > 0
        ]
        if not windows:
            return
        moments = [now - span for _, span, _ in windows]
        by_key = await self._counts.counts_since(
            moments, user_id=caller.user_id, guest=caller.is_guest
        )
        by_ip = (
            await self._counts.counts_since(moments, ip=client_ip)
            if client_ip
            else [0] * len(moments)
        )
        for (unit, _, limit), key_count, ip_count in zip(windows, by_key, by_ip, strict=True):
            if max(key_count, ip_count) >= limit:
                self._metrics.flood_refused(unit)
                noun = "image" if limit == 1 else "images"
                raise errors.Flooding(
                    f"Flooding detected. You can only upload {limit} {noun} per {unit}",
                    limit=limit,
                    per=unit,
                )
