"""UserRepo: users by name and id, unique names, ids in creation order."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server.domain.errors import AlreadyExists
from tests.contract.backends import T0, Repos

pytestmark = pytest.mark.asyncio


async def test_a_new_user_reads_back_the_same_by_name_and_by_id(repos: Repos) -> None:
    user = await repos.users.create_user("ann", True, T0)
    assert (user.username, user.is_admin, user.is_disabled) == ("ann", True, False)
    assert (user.date_gmt, user.has_key, user.key_id) == (T0, False, None)
    assert await repos.users.user_by_name("ann") == user
    assert await repos.users.user_by_id(user.id) == user


async def test_ids_grow_and_users_are_listed_in_that_order(repos: Repos) -> None:
    made = [await repos.users.create_user(n, False, T0 + timedelta(seconds=i)) for i, n in
            enumerate(["cy", "ann", "bob"])]  # fmt: skip
    assert [u.id for u in made] == sorted(u.id for u in made)
    assert list(await repos.users.users()) == made


async def test_a_taken_username_is_already_exists_on_the_username(repos: Repos) -> None:
    await repos.users.create_user("ann", False, T0)
    with pytest.raises(AlreadyExists) as refused:
        await repos.users.create_user("ann", True, T0)
    assert refused.value.metadata == {"field": "username"}
    assert [u.username for u in await repos.users.users()] == ["ann"]


async def test_names_are_case_sensitive(repos: Repos) -> None:
    await repos.users.create_user("ann", False, T0)
    await repos.users.create_user("Ann", False, T0)
    assert await repos.users.user_by_name("ANN") is None


async def test_an_unknown_user_is_none_and_no_users_is_an_empty_list(repos: Repos) -> None:
    assert await repos.users.user_by_name("nobody") is None
    assert await repos.users.user_by_id(1) is None
    assert list(await repos.users.users()) == []


async def test_disabling_shows_on_every_read_and_can_be_undone(repos: Repos) -> None:
    ann = await repos.users.create_user("ann", False, T0)
    bob = await repos.users.create_user("bob", False, T0)
    await repos.users.set_disabled(ann.id, True)
    assert (await repos.users.user_by_id(ann.id)).is_disabled  # type: ignore[union-attr]
    assert (await repos.users.user_by_name("ann")).is_disabled  # type: ignore[union-attr]
    assert [u.is_disabled for u in await repos.users.users()] == [True, False]
    await repos.users.set_disabled(ann.id, False)
    assert await repos.users.user_by_id(ann.id) == ann
    assert await repos.users.user_by_id(bob.id) == bob


async def test_disabling_an_unknown_user_changes_nothing(repos: Repos) -> None:
    ann = await repos.users.create_user("ann", False, T0)
    await repos.users.set_disabled(ann.id + 1, True)
    assert list(await repos.users.users()) == [ann]
