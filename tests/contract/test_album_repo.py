"""AlbumRepo: albums seen with their owner's name, listed by id, per owner or all."""

from __future__ import annotations

import pytest

from server.domain.accounts import AlbumInfo
from tests.contract.backends import T0, Repos

pytestmark = pytest.mark.asyncio


async def test_a_new_album_reads_back_with_its_owners_name(repos: Repos) -> None:
    ann = await repos.users.create_user("ann", False, T0)
    album = await repos.albums.create_album(ann.id, "Trips", "Far away", T0)
    assert album == AlbumInfo(album.id, ann.id, "ann", "Trips", "Far away")
    assert await repos.albums.album(album.id) == album


async def test_albums_list_in_id_order_for_everyone_or_one_owner(repos: Repos) -> None:
    ann = await repos.users.create_user("ann", False, T0)
    bob = await repos.users.create_user("bob", False, T0)
    cy = await repos.users.create_user("cy", False, T0)
    a1 = await repos.albums.create_album(ann.id, "One", "", T0)
    b1 = await repos.albums.create_album(bob.id, "One", "", T0)  # names need not be unique
    a2 = await repos.albums.create_album(ann.id, "Two", "", T0)
    assert a1.id < b1.id < a2.id
    assert list(await repos.albums.albums(None)) == [a1, b1, a2]
    assert list(await repos.albums.albums(ann.id)) == [a1, a2]
    assert list(await repos.albums.albums(cy.id)) == []


async def test_an_unknown_album_is_none(repos: Repos) -> None:
    assert await repos.albums.album(1) is None
    assert list(await repos.albums.albums(None)) == []
