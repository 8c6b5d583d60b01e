"""The admin side: names and keys checked, and albums owned by whoever may own them."""

from __future__ import annotations

import asyncio

import pytest

from server.domain.caller import Caller, CallerKind
from server.domain.errors import AlreadyExists, InvalidArgument, NotFound, PermissionDenied
from server.domain.ids import IdCodec
from server.services.admin import AdminService
from server.services.auth import Authenticator
from server.services.credentials import Credentials
from server.services.settings import SettingsService
from tests.unit.server.fakes import Accounts, FixedClock, Variables

IDS = IdCodec("admin-test", 999)
SECRETS = Credentials(b"s" * 32, IDS)
ANN = Caller(CallerKind.USER, 1, "ann")
BOB = Caller(CallerKind.USER, 2, "bob")
ROOT = Caller(CallerKind.ADMIN, 3, "root")


class World:
    def __init__(self) -> None:
        self.accounts = Accounts()
        self.variables = Variables()
        self.admin = AdminService(
            users=self.accounts,
            keys=self.accounts,
            albums=self.accounts,
            categories=self.accounts,
            variables=self.variables,
            settings=SettingsService(self.variables, max_upload_mb=100),
            secrets=SECRETS,
            ids=IDS,
            clock=FixedClock(),
        )
        self.auth = Authenticator(self.accounts, self.variables, SECRETS)
        for name, admin in (("ann", False), ("bob", False), ("root", True)):
            asyncio.run(self.admin.create_user(name, is_admin=admin))


def test_a_new_users_key_authenticates_as_that_user() -> None:
    world = World()
    user, key = asyncio.run(world.admin.create_user("cy", is_admin=False))
    assert user.has_key and user.key_id is not None
    assert asyncio.run(world.auth.caller(key)) == Caller(CallerKind.USER, user.id, "cy")
    assert world.admin.key_hint(user).endswith("_***")


@pytest.mark.parametrize("name", ["", "has space", "x" * 65, "ümlaut"])
def test_a_username_outside_the_allowed_characters_is_refused(name: str) -> None:
    with pytest.raises(InvalidArgument):
        asyncio.run(World().admin.create_user(name, is_admin=False))


def test_a_second_key_is_refused_and_a_missing_one_cannot_be_revoked() -> None:
    world = World()
    with pytest.raises(AlreadyExists):
        asyncio.run(world.admin.create_key("ann"))
    asyncio.run(world.admin.revoke_key("ann"))
    with pytest.raises(NotFound):
        asyncio.run(world.admin.revoke_key("ann"))
    assert asyncio.run(world.admin.create_key("ann")).startswith("chv_")


@pytest.mark.parametrize("key", ["short", "chv_looks-like-a-user-key", "has a space in it ok"])
def test_a_guest_key_that_could_be_confused_is_refused(key: str) -> None:
    with pytest.raises(InvalidArgument):
        asyncio.run(World().admin.set_guest_key(key))


def test_a_generated_guest_key_authenticates_as_the_guest() -> None:
    world = World()
    key = asyncio.run(world.admin.generate_guest_key())
    assert asyncio.run(world.auth.caller(key)).is_guest


def test_the_cli_acts_as_admin_but_owns_nothing() -> None:
    world = World()
    cli = Caller.local_admin()
    with pytest.raises(InvalidArgument, match="Name the album's owner"):
        asyncio.run(world.admin.create_album(cli, "Trips", "", ""))
    album = asyncio.run(world.admin.create_album(cli, "  Trips  ", "far", "bob"))
    assert (album.user_id, album.owner, album.name) == (2, "bob", "Trips")
    assert [a.id for a in asyncio.run(world.admin.albums(cli, ""))] == [album.id]


def test_users_make_and_list_their_own_albums_and_admins_anyones() -> None:
    world = World()
    own = asyncio.run(world.admin.create_album(ANN, "Mine", "", ""))
    assert own.user_id == 1
    with pytest.raises(PermissionDenied):
        asyncio.run(world.admin.create_album(ANN, "Bob's", "", "bob"))
    bobs = asyncio.run(world.admin.create_album(ROOT, "Bob's", "", "bob"))
    assert bobs.user_id == 2
    with pytest.raises(InvalidArgument, match="needs a name"):
        asyncio.run(world.admin.create_album(ANN, "   ", "", ""))

    assert [a.id for a in asyncio.run(world.admin.albums(ANN, ""))] == [own.id]
    assert [a.id for a in asyncio.run(world.admin.albums(BOB, "bob"))] == [bobs.id]
    with pytest.raises(PermissionDenied):
        asyncio.run(world.admin.albums(ANN, "bob"))
    assert len(asyncio.run(world.admin.albums(ROOT, ""))) == 2
    assert world.admin.album_id(own) == IDS.encode(own.id)


def test_a_category_url_key_is_made_from_its_name_when_not_given() -> None:
    world = World()
    category = asyncio.run(world.admin.create_category(" Street Photos! ", ""))
    assert (category.name, category.url_key) == ("Street Photos!", "street-photos")
    with pytest.raises(InvalidArgument, match="url_key"):
        asyncio.run(world.admin.create_category("!!!", ""))
