"""MediaRepo: records stored whole (tags in order), ids never reused, pages newest first."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from server.domain.media import MediaPage, MediaRecord, MediaType
from tests.contract.backends import T0, Repos, media_record

pytestmark = pytest.mark.asyncio


async def _add(repos: Repos, n: int, **changes: object) -> MediaRecord:
    return await repos.media.add(media_record(n, **changes))


async def test_add_numbers_the_record_and_get_reads_every_field_back(repos: Repos) -> None:
    ann = await repos.users.create_user("ann", False, T0)
    album = await repos.albums.create_album(ann.id, "Trips", "", T0)
    category = await repos.categories.create_category("Nature", "nature")
    record = media_record(
        7, type=MediaType.VIDEO, description="Line one\nline two", nsfw=True,
        source_md5="f" * 32, chain=0b10111, frame_size=55, is_animated=True, is_360=True,
        duration=12, expiration_gmt=T0 + timedelta(days=3), category_id=category.id,
        album_id=album.id, user_id=ann.id, tags=["zebra", "apple", "mango"],
        uploader_ip="2001:db8::1", size=5 * 2**32,
    )  # fmt: skip
    added = await repos.media.add(record)
    assert added is record and record.id is not None
    stored = await repos.media.get(record.id)
    assert stored == record
    assert stored is not record
    assert stored.tags == ["zebra", "apple", "mango"]  # the client's order, not sorted


async def test_a_record_read_back_is_a_copy(repos: Repos) -> None:
    record = await _add(repos, 1, tags=["a"])
    assert record.id is not None
    read = await repos.media.get(record.id)
    assert read is not None
    read.title = "changed"
    read.tags.append("b")
    record.tags.append("c")
    assert await repos.media.get(record.id) == dataclasses.replace(record, tags=["a"])


async def test_ids_grow_and_the_newest_deleted_id_is_never_handed_out_again(
    repos: Repos,
) -> None:
    first, second = await _add(repos, 1), await _add(repos, 2)
    assert first.id is not None and second.id is not None and second.id > first.id
    assert await repos.media.delete(second.id)
    third = await _add(repos, 3)
    assert third.id is not None and third.id > second.id
    assert await repos.media.get(second.id) is None


async def test_delete_says_whether_there_was_a_record_and_takes_its_tags(repos: Repos) -> None:
    record = await _add(repos, 1, tags=["x", "y"])
    other = await _add(repos, 2, tags=["x"])
    assert record.id is not None and other.id is not None
    assert await repos.media.delete(record.id) is True
    assert await repos.media.delete(record.id) is False
    assert await repos.media.get(record.id) is None
    assert await repos.media.get(other.id) == other
    assert await repos.media.delete(other.id + 100) is False


async def test_an_unknown_id_is_none(repos: Repos) -> None:
    assert await repos.media.get(1) is None


def _ids(page: MediaPage) -> list[int | None]:
    return [item.id for item in page.items]


async def test_pages_run_newest_first_and_say_where_the_next_one_starts(repos: Repos) -> None:
    ids = [(await _add(repos, n)).id for n in range(5)]
    newest_first = list(reversed(ids))
    page = await repos.media.page(limit=2, before_id=None, user_id=None, album_id=None)
    assert _ids(page) == newest_first[:2] and page.next_before_id == newest_first[1]
    page = await repos.media.page(
        limit=2, before_id=page.next_before_id, user_id=None, album_id=None
    )
    assert _ids(page) == newest_first[2:4] and page.next_before_id == newest_first[3]
    page = await repos.media.page(
        limit=2, before_id=page.next_before_id, user_id=None, album_id=None
    )
    assert _ids(page) == newest_first[4:] and page.next_before_id is None


async def test_a_page_that_holds_the_rest_exactly_has_no_next(repos: Repos) -> None:
    ids = [(await _add(repos, n)).id for n in range(3)]
    page = await repos.media.page(limit=3, before_id=None, user_id=None, album_id=None)
    assert _ids(page) == list(reversed(ids)) and page.next_before_id is None
    empty = await repos.media.page(limit=3, before_id=ids[0], user_id=None, album_id=None)
    assert empty == MediaPage([], None)


async def test_pages_keep_to_one_owner_or_one_album_with_their_tags(repos: Repos) -> None:
    ann = await repos.users.create_user("ann", False, T0)
    bob = await repos.users.create_user("bob", False, T0)
    trips = await repos.albums.create_album(ann.id, "Trips", "", T0)
    a1 = await _add(repos, 1, user_id=ann.id, tags=["t1"])
    b1 = await _add(repos, 2, user_id=bob.id)
    a2 = await _add(repos, 3, user_id=ann.id, album_id=trips.id, tags=["t2", "t3"])
    guest = await _add(repos, 4)
    everyone = await repos.media.page(limit=10, before_id=None, user_id=None, album_id=None)
    assert list(everyone.items) == [guest, a2, b1, a1]
    anns = await repos.media.page(limit=10, before_id=None, user_id=ann.id, album_id=None)
    assert list(anns.items) == [a2, a1]
    in_trips = await repos.media.page(limit=10, before_id=None, user_id=None, album_id=trips.id)
    assert list(in_trips.items) == [a2]
    both = await repos.media.page(limit=10, before_id=None, user_id=bob.id, album_id=trips.id)
    assert both == MediaPage([], None)
    first_of_anns = await repos.media.page(limit=1, before_id=None, user_id=ann.id, album_id=None)
    assert _ids(first_of_anns) == [a2.id] and first_of_anns.next_before_id == a2.id


async def test_owned_keys_are_the_files_a_row_names_through_its_chain(repos: Repos) -> None:
    # "photo.th" is a legal name: its image looks like the thumb of "photo".
    await _add(repos, 1, name="photo", chain=0b00101)  # image and thumb, no medium
    await _add(repos, 2, name="photo.th", folder="2026/03/02")
    asked = [
        "images/2026/03/01/photo.jpg",
        "images/2026/03/01/photo.th.jpg",
        "images/2026/03/01/photo.md.jpg",  # not in the chain
        "images/2026/03/02/photo.th.jpg",  # the image of "photo.th"
        "images/2026/03/02/photo.jpg",  # no such row in that folder
        "images/2026/03/01/other.jpg",
        "not-an-image-key",
    ]
    assert await repos.media.owned_keys(asked) == {
        "images/2026/03/01/photo.jpg",
        "images/2026/03/01/photo.th.jpg",
        "images/2026/03/02/photo.th.jpg",
    }
    assert await repos.media.owned_keys([]) == set()


async def test_set_chain_changes_the_variants_a_row_owns(repos: Repos) -> None:
    record = await _add(repos, 1, name="photo", chain=0b00111)
    assert record.id is not None
    medium = "images/2026/03/01/photo.md.jpg"
    assert await repos.media.owned_keys([medium]) == {medium}
    assert await repos.media.set_chain(record.id, 0b00101) is True
    stored = await repos.media.get(record.id)
    assert stored == dataclasses.replace(record, chain=0b00101)
    assert await repos.media.owned_keys([medium]) == set()
    assert await repos.media.set_chain(record.id + 100, 0b00101) is False
