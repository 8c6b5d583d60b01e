"""Users, keys, the guest key, albums and categories: the admin side of the service.

The CLI and AdminService both call these methods, so every behaviour has one code
path whichever door it is reached by.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from server.domain import errors
from server.domain.accounts import AlbumInfo, CategoryInfo, UserInfo
from server.domain.caller import Caller
from server.domain.ids import IdCodec
from server.ports import AlbumRepo, CategoryRepo, Clock, KeyRepo, UserRepo, VariableStore
from server.services.auth import GUEST_KEY_VARIABLE
from server.services.credentials import Credentials
from server.services.settings import SettingsService, UploadSettings

_USERNAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_URL_KEY_DROP = re.compile(r"[^a-z0-9]+")


class AdminService:
    def __init__(
        self,
        *,
        users: UserRepo,
        keys: KeyRepo,
        albums: AlbumRepo,
        categories: CategoryRepo,
        variables: VariableStore,
        settings: SettingsService,
        secrets: Credentials,
        ids: IdCodec,
        clock: Clock,
    ) -> None:
        self._users = users
        self._keys = keys
        self._albums = albums
        self._categories = categories
        self._variables = variables
        self._settings = settings
        self._secrets = secrets
        self._ids = ids
        self._clock = clock

    # --- users and their keys -------------------------------------------------------------

    async def create_user(self, username: str, *, is_admin: bool) -> tuple[UserInfo, str]:
        if not _USERNAME.fullmatch(username):
            raise errors.InvalidArgument(
                "A username is 1-64 letters, digits, '.', '_' or '-'", field="username"
            )
        user = await self._users.create_user(username, is_admin, self._clock.now())
        key = await self._keys.put_key(user.id, self._secrets.new_user_key, self._clock.now())
        refreshed = await self._users.user_by_id(user.id)
        assert refreshed is not None
        return refreshed, key

    async def user(self, username: str) -> UserInfo:
        user = await self._users.user_by_name(username)
        if user is None:
            raise errors.NotFound(f"No user {username!r}", field="username")
        return user

    async def users(self) -> Sequence[UserInfo]:
        return await self._users.users()

    async def disable_user(self, username: str) -> UserInfo:
        user = await self.user(username)
        await self._users.set_disabled(user.id, True)
        return await self.user(username)

    async def create_key(self, username: str) -> str:
        user = await self.user(username)
        if user.has_key:
            raise errors.AlreadyExists(
                f"{username!r} has a key already; rotate it instead", field="username"
            )
        return await self._keys.put_key(user.id, self._secrets.new_user_key, self._clock.now())

    async def rotate_key(self, username: str) -> str:
        user = await self.user(username)
        return await self._keys.put_key(user.id, self._secrets.new_user_key, self._clock.now())

    async def revoke_key(self, username: str) -> None:
        user = await self.user(username)
        if not await self._keys.delete_key(user.id):
            raise errors.NotFound(f"{username!r} has no key", field="username")

    def key_hint(self, user: UserInfo) -> str:
        return self._secrets.key_hint(user.key_id) if user.key_id else ""

    # --- the guest key --------------------------------------------------------------------

    async def set_guest_key(self, key: str) -> None:
        if len(key) < 16 or key.startswith("chv_") or not key.isprintable() or " " in key:
            raise errors.InvalidArgument(
                "A guest key is at least 16 printable characters without spaces and "
                "does not start with chv_",
                field="guest_key",
            )
        await self._variables.set(GUEST_KEY_VARIABLE, self._secrets.hash("guest-key", key))

    async def generate_guest_key(self) -> str:
        key = self._secrets.new_guest_key()
        await self.set_guest_key(key)
        return key

    async def clear_guest_key(self) -> None:
        await self._variables.delete(GUEST_KEY_VARIABLE)

    # --- albums and categories ------------------------------------------------------------

    async def create_album(
        self, caller: Caller, name: str, description: str, owner: str
    ) -> AlbumInfo:
        if not name.strip():
            raise errors.InvalidArgument("An album needs a name", field="name")
        if owner:
            user = await self.user(owner)
            if not caller.is_admin and user.id != caller.user_id:
                raise errors.PermissionDenied("Only admins create albums for others")
            user_id = user.id
        elif caller.user_id is not None:
            user_id = caller.user_id
        else:
            raise errors.InvalidArgument("Name the album's owner", field="owner")
        return await self._albums.create_album(
            user_id, name.strip()[:100], description, self._clock.now()
        )

    async def albums(self, caller: Caller, owner: str) -> Sequence[AlbumInfo]:
        if owner:
            user = await self.user(owner)
            if not caller.is_admin and user.id != caller.user_id:
                raise errors.PermissionDenied("Only admins list others' albums")
            return await self._albums.albums(user.id)
        if not caller.is_admin:
            return await self._albums.albums(caller.user_id)
        return await self._albums.albums(None)

    def album_id(self, album: AlbumInfo) -> str:
        return self._ids.encode(album.id)

    async def create_category(self, name: str, url_key: str) -> CategoryInfo:
        if not name.strip():
            raise errors.InvalidArgument("A category needs a name", field="name")
        key = url_key or _URL_KEY_DROP.sub("-", name.lower()).strip("-")
        if not key:
            raise errors.InvalidArgument("A category needs a url_key", field="url_key")
        return await self._categories.create_category(name.strip(), key)

    async def categories(self) -> Sequence[CategoryInfo]:
        return await self._categories.categories()

    # --- settings -------------------------------------------------------------------------

    async def settings(self) -> UploadSettings:
        return await self._settings.current()

    async def update_settings(self, **changes: Any) -> UploadSettings:
        return await self._settings.update(**changes)
