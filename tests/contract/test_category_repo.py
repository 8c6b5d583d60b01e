"""CategoryRepo: categories unique by url_key, listed by id."""

from __future__ import annotations

import pytest

from server.domain.accounts import CategoryInfo
from server.domain.errors import AlreadyExists
from tests.contract.backends import Repos

pytestmark = pytest.mark.asyncio


async def test_a_new_category_reads_back_the_same(repos: Repos) -> None:
    category = await repos.categories.create_category("Nature", "nature")
    assert category == CategoryInfo(category.id, "Nature", "nature")
    assert await repos.categories.category(category.id) == category


async def test_a_taken_url_key_is_already_exists_on_the_url_key(repos: Repos) -> None:
    first = await repos.categories.create_category("Nature", "nature")
    with pytest.raises(AlreadyExists) as refused:
        await repos.categories.create_category("Other", "nature")
    assert refused.value.metadata == {"field": "url_key"}
    assert list(await repos.categories.categories()) == [first]


async def test_names_may_repeat_and_the_list_is_in_id_order(repos: Repos) -> None:
    made = [await repos.categories.create_category("Same", key) for key in ("b-key", "a-key", "c")]
    assert [c.id for c in made] == sorted(c.id for c in made)
    assert list(await repos.categories.categories()) == made


async def test_an_unknown_category_is_none(repos: Repos) -> None:
    assert await repos.categories.category(1) is None
    assert list(await repos.categories.categories()) == []
