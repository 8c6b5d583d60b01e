"""A key becomes a caller in Chevereto's order: empty, user key, then guest key (§2.1)."""

from __future__ import annotations

import asyncio

import pytest

from server.domain.caller import Caller, CallerKind
from server.domain.errors import InvalidApiKey, NoKeyProvided, PermissionDenied, RequestDenied
from server.domain.ids import IdCodec
from server.services.auth import GUEST_KEY_VARIABLE, Authenticator
from server.services.credentials import Credentials
from tests.unit.server.fakes import T0, Accounts, Variables

SECRETS = Credentials(b"k" * 32, IdCodec("auth-test", 999))
GUEST_KEY = "a-guest-key-of-some-length"


class World:
    def __init__(self) -> None:
        self.accounts = Accounts()
        self.variables = Variables()
        self.auth = Authenticator(self.accounts, self.variables, SECRETS)

    def user(self, name: str, *, admin: bool = False) -> str:
        async def make() -> str:
            user = await self.accounts.create_user(name, admin, T0)
            return await self.accounts.put_key(user.id, SECRETS.new_user_key, T0)

        return asyncio.run(make())

    def guest_key(self, key: str = GUEST_KEY) -> None:
        self.variables.values[GUEST_KEY_VARIABLE] = SECRETS.hash("guest-key", key)

    def caller(self, key: str) -> Caller:
        return asyncio.run(self.auth.caller(key))


def test_no_key_is_asked_for_before_anything_is_looked_up() -> None:
    world = World()
    with pytest.raises(NoKeyProvided):
        world.caller("")
    assert world.accounts.key_lookups == []


def test_a_user_key_names_its_user_and_an_admin_key_an_admin() -> None:
    world = World()
    user_key, admin_key = world.user("ann"), world.user("root", admin=True)
    assert world.caller(user_key) == Caller(CallerKind.USER, 1, "ann")
    assert world.caller(admin_key) == Caller(CallerKind.ADMIN, 2, "root")


def test_a_disabled_users_key_is_denied_not_unknown() -> None:
    world = World()
    key = world.user("ann")
    asyncio.run(world.accounts.set_disabled(1, True))
    with pytest.raises(RequestDenied):
        world.caller(key)


def test_a_wrong_user_key_never_falls_through_to_the_guest_key() -> None:
    """Even when the guest key hash would match it: shaped like a user key, it is one."""
    world = World()
    key = world.user("ann")
    forged = key[:-1] + ("0" if key[-1] != "0" else "1")
    world.guest_key(forged)
    with pytest.raises(InvalidApiKey):
        world.caller(forged)
    assert world.accounts.key_lookups == [1]


def test_a_chv_key_of_the_wrong_shape_is_refused_without_a_lookup() -> None:
    world = World()
    world.guest_key("chv_not-a-user-key")
    with pytest.raises(InvalidApiKey):
        world.caller("chv_not-a-user-key")
    assert world.accounts.key_lookups == []


def test_a_rotated_or_revoked_key_stops_working() -> None:
    world = World()
    old = world.user("ann")
    new = asyncio.run(world.accounts.put_key(1, SECRETS.new_user_key, T0))
    with pytest.raises(InvalidApiKey):
        world.caller(old)
    assert world.caller(new).username == "ann"
    asyncio.run(world.accounts.delete_key(1))
    with pytest.raises(InvalidApiKey):
        world.caller(new)


def test_the_guest_key_is_a_guest_and_no_guest_key_means_invalid() -> None:
    world = World()
    with pytest.raises(InvalidApiKey):
        world.caller(GUEST_KEY)
    world.guest_key()
    assert world.caller(GUEST_KEY) == Caller(CallerKind.GUEST)
    with pytest.raises(InvalidApiKey):
        world.caller(GUEST_KEY + "x")


def test_admin_needs_an_admin_key_and_user_needs_a_user_key() -> None:
    world = World()
    user_key, admin_key = world.user("ann"), world.user("root", admin=True)
    world.guest_key()
    with pytest.raises(PermissionDenied):
        asyncio.run(world.auth.admin(user_key))
    assert asyncio.run(world.auth.admin(admin_key)).is_admin
    with pytest.raises(PermissionDenied):
        asyncio.run(world.auth.user(GUEST_KEY))
    assert asyncio.run(world.auth.user(user_key)).user_id == 1
