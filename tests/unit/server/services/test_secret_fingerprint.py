"""The database remembers which secret.key its keys were hashed with, never the secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.services.credentials import (
    SECRET_FINGERPRINT_VARIABLE,
    SecretMismatch,
    check_secret,
)
from tests.unit.server.fakes import Variables

pytestmark = pytest.mark.asyncio

FIRST = bytes(range(32))
OTHER = bytes(range(1, 33))
PATH = Path("/var/darkroom/secret.key")


async def test_the_first_start_records_a_fingerprint_and_the_same_secret_passes() -> None:
    variables = Variables()
    await check_secret(variables, FIRST, PATH)
    recorded = await variables.get(SECRET_FINGERPRINT_VARIABLE)
    assert recorded
    assert FIRST.hex() not in recorded
    await check_secret(variables, FIRST, PATH)
    assert await variables.get(SECRET_FINGERPRINT_VARIABLE) == recorded


async def test_another_secret_is_refused_with_what_to_do() -> None:
    variables = Variables()
    await check_secret(variables, FIRST, PATH)
    with pytest.raises(SecretMismatch) as refused:
        await check_secret(variables, OTHER, PATH)
    assert str(refused.value) == (
        "secret.key differs from the one this database was created with: "
        "copy data_dir/secret.key from the first host (docs/deploy.md)"
    )
    assert refused.value.path == PATH


async def test_a_database_from_before_fingerprints_takes_the_secret_it_meets() -> None:
    variables = Variables()
    await variables.set("crypt_salt", "abcd")  # a database in use, no fingerprint yet
    await check_secret(variables, OTHER, PATH)
    with pytest.raises(SecretMismatch):
        await check_secret(variables, FIRST, PATH)
