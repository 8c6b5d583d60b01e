"""KeyRepo: at most one key row per user, a new id on every put, the hash kept."""

from __future__ import annotations

import pytest

from server.domain.accounts import UserInfo
from tests.contract.backends import T0, Repos

pytestmark = pytest.mark.asyncio


class KeyMaker:
    """A make_key that remembers the row ids it was handed."""

    def __init__(self) -> None:
        self.ids: list[int] = []

    def __call__(self, row_id: int) -> tuple[str, str]:
        self.ids.append(row_id)
        return f"plain-{row_id}", f"hash-{row_id}"


async def _user(repos: Repos, name: str = "ann") -> UserInfo:
    return await repos.users.create_user(name, False, T0)


async def test_a_put_key_hands_its_row_id_to_make_key_and_keeps_only_the_hash(
    repos: Repos,
) -> None:
    ann = await _user(repos)
    make = KeyMaker()
    plaintext = await repos.keys.put_key(ann.id, make, T0)
    (key_id,) = make.ids
    assert plaintext == f"plain-{key_id}"
    found = await repos.keys.user_for_key(key_id)
    assert found is not None
    user, key_hash = found
    assert key_hash == f"hash-{key_id}"
    assert (user.id, user.username, user.has_key, user.key_id) == (ann.id, "ann", True, key_id)
    assert await repos.users.user_by_id(ann.id) == user


async def test_putting_again_replaces_the_row_and_the_old_id_finds_nobody(repos: Repos) -> None:
    ann = await _user(repos)
    make = KeyMaker()
    await repos.keys.put_key(ann.id, make, T0)
    await repos.keys.put_key(ann.id, make, T0)
    old, new = make.ids
    assert new > old
    assert await repos.keys.user_for_key(old) is None
    found = await repos.keys.user_for_key(new)
    assert found is not None and found[0].key_id == new


async def test_a_deleted_keys_id_is_never_handed_out_again(repos: Repos) -> None:
    ann, bob = await _user(repos, "ann"), await _user(repos, "bob")
    make = KeyMaker()
    await repos.keys.put_key(ann.id, make, T0)
    assert await repos.keys.delete_key(ann.id)
    await repos.keys.put_key(bob.id, make, T0)
    first, second = make.ids
    assert second > first
    assert await repos.keys.user_for_key(first) is None


async def test_deleting_says_whether_there_was_a_key(repos: Repos) -> None:
    ann = await _user(repos)
    assert await repos.keys.delete_key(ann.id) is False
    await repos.keys.put_key(ann.id, KeyMaker(), T0)
    assert await repos.keys.delete_key(ann.id) is True
    assert await repos.keys.delete_key(ann.id) is False
    assert await repos.users.user_by_id(ann.id) == ann  # no key again
    assert await repos.keys.delete_key(ann.id + 100) is False  # nobody at all


async def test_one_users_key_leaves_anothers_alone(repos: Repos) -> None:
    ann, bob = await _user(repos, "ann"), await _user(repos, "bob")
    make = KeyMaker()
    await repos.keys.put_key(ann.id, make, T0)
    await repos.keys.put_key(bob.id, make, T0)
    await repos.keys.delete_key(ann.id)
    found = await repos.keys.user_for_key(make.ids[1])
    assert found is not None and found[0].username == "bob"
    assert [u.has_key for u in await repos.users.users()] == [False, True]


async def test_an_unknown_key_id_is_none(repos: Repos) -> None:
    assert await repos.keys.user_for_key(1) is None
