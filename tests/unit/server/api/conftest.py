"""The ``darkroom`` fixture: a real server of the test's own (see in_process.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from tests.unit.server.api.in_process import Darkroom, running_darkroom


@pytest_asyncio.fixture
async def darkroom(tmp_path: Path) -> AsyncIterator[Darkroom]:
    async with running_darkroom(tmp_path) as running:
        yield running
