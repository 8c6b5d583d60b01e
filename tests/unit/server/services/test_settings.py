"""Run-time settings under the process ceiling (DARKROOM_MAX_UPLOAD_MB)."""

from __future__ import annotations

import asyncio

import pytest

from server.domain.errors import InvalidArgument
from server.services.settings import SettingsService


class Variables:
    """A VariableStore in a dict: what the service stores is all this test looks at."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def get(self, name: str) -> str | None:
        return self.values.get(name)

    async def set(self, name: str, value: str) -> None:
        self.values[name] = value

    async def delete(self, name: str) -> None:
        self.values.pop(name, None)

    async def get_or_create(self, name: str, default: str) -> str:
        return self.values.setdefault(name, default)


def test_a_limit_above_the_ceiling_is_refused_and_one_at_it_is_kept() -> None:
    service = SettingsService(Variables(), max_upload_mb=50)
    with pytest.raises(InvalidArgument, match="at most 50 MB"):
        asyncio.run(service.update(upload_max_filesize_mb=51))
    assert asyncio.run(service.update(upload_max_filesize_mb=50)).upload_max_filesize_mb == 50


def test_the_defaults_are_read_under_a_lower_ceiling() -> None:
    settings = asyncio.run(SettingsService(Variables(), max_upload_mb=5).current())
    assert (settings.upload_max_filesize_mb, settings.upload_max_filesize_mb_guest) == (5, 5)


def test_a_lowered_ceiling_does_not_overwrite_the_stored_limit() -> None:
    """Stored 400 under a ceiling of 500; the ceiling drops to 100 and an unrelated
    setting changes; back at 500 the limit is 400 again, not 100."""
    variables = Variables()
    asyncio.run(SettingsService(variables, 500).update(upload_max_filesize_mb=400))
    lowered = SettingsService(variables, 100)
    changed = asyncio.run(lowered.update(flood_uploads_per_minute=7))
    assert changed.upload_max_filesize_mb == 100  # what is in force now
    restored = asyncio.run(SettingsService(variables, 500).current())
    assert restored.upload_max_filesize_mb == 400
    assert restored.flood_uploads_per_minute == 7
