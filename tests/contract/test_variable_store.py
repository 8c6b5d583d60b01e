"""VariableStore: named strings; get_or_create keeps whichever value was stored first."""

from __future__ import annotations

import pytest

from tests.contract.backends import Repos

pytestmark = pytest.mark.asyncio


async def test_an_unset_variable_is_none(repos: Repos) -> None:
    assert await repos.variables.get("crypt_salt") is None


async def test_set_stores_and_replaces(repos: Repos) -> None:
    await repos.variables.set("guest_uploads", "1")
    await repos.variables.set("other", "x")
    assert await repos.variables.get("guest_uploads") == "1"
    await repos.variables.set("guest_uploads", "")
    assert await repos.variables.get("guest_uploads") == ""  # empty is a value, not unset
    assert await repos.variables.get("other") == "x"


async def test_delete_unsets_and_a_missing_variable_is_no_error(repos: Repos) -> None:
    await repos.variables.set("guest_key_hash", "h")
    await repos.variables.delete("guest_key_hash")
    await repos.variables.delete("guest_key_hash")
    await repos.variables.delete("never-set")
    assert await repos.variables.get("guest_key_hash") is None


async def test_get_or_create_stores_the_default_once_then_keeps_it(repos: Repos) -> None:
    assert await repos.variables.get_or_create("crypt_salt", "first") == "first"
    assert await repos.variables.get_or_create("crypt_salt", "second") == "first"
    assert await repos.variables.get("crypt_salt") == "first"


async def test_get_or_create_returns_a_value_already_set(repos: Repos) -> None:
    await repos.variables.set("id_padding", "0")
    assert await repos.variables.get_or_create("id_padding", "999") == "0"


async def test_long_values_come_back_whole(repos: Repos) -> None:
    value = "é" * 10_000
    await repos.variables.set("settings", value)
    assert await repos.variables.get("settings") == value
