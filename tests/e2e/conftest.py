"""The whole service, started with 'darkroom serve' on a free port, once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import Stack, start_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # Private URL targets are allowed so URL sources can be fetched from a local origin
    # in these tests; the default refusal is covered by the integration tests.
    # The ceiling is raised for the 300 MB streamed upload test.
    running = start_stack(
        tmp_path_factory.mktemp("stack"),
        {"DARKROOM_URL_FETCH_ALLOW_PRIVATE": "true", "DARKROOM_MAX_UPLOAD_MB": "1000"},
    )
    yield running
    assert running.stop() == 0, "darkroom serve did not stop cleanly"


@pytest.fixture(scope="session")
def key(stack: Stack) -> str:
    """A plain user's key."""
    return stack.cli("users", "create", "e2e-user").strip().splitlines()[-1]
