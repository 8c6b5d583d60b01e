"""AdminService: convert → one service call → convert."""

from __future__ import annotations

from typing import Any

import grpc

from darkroom.v1 import admin_pb2, admin_pb2_grpc
from server.api.convert import (
    album_message,
    category_message,
    settings_changes,
    settings_message,
)
from server.api.errors import grpc_errors
from server.api.request_meta import api_key
from server.domain.accounts import UserInfo
from server.domain.text import format_db_datetime
from server.services.admin import AdminService
from server.services.auth import Authenticator

Context = grpc.aio.ServicerContext[Any, Any]


class AdminServicer(admin_pb2_grpc.AdminServiceServicer):
    def __init__(self, auth: Authenticator, admin: AdminService) -> None:
        self._auth = auth
        self._admin = admin

    def _user(self, user: UserInfo) -> admin_pb2.User:
        return admin_pb2.User(
            username=user.username,
            is_admin=user.is_admin,
            is_disabled=user.is_disabled,
            has_key=user.has_key,
            key_hint=self._admin.key_hint(user),
            date_gmt=format_db_datetime(user.date_gmt),
        )

    async def _require_admin(self, context: Context) -> None:
        await self._auth.admin(api_key(context, ""))

    @grpc_errors
    async def CreateUser(
        self, request: admin_pb2.CreateUserRequest, context: Context
    ) -> admin_pb2.CreateUserResponse:
        await self._require_admin(context)
        user, key = await self._admin.create_user(request.username, is_admin=request.is_admin)
        return admin_pb2.CreateUserResponse(user=self._user(user), api_key=key)

    @grpc_errors
    async def ListUsers(
        self, request: admin_pb2.ListUsersRequest, context: Context
    ) -> admin_pb2.ListUsersResponse:
        await self._require_admin(context)
        users = await self._admin.users()
        return admin_pb2.ListUsersResponse(users=[self._user(user) for user in users])

    @grpc_errors
    async def DisableUser(
        self, request: admin_pb2.DisableUserRequest, context: Context
    ) -> admin_pb2.DisableUserResponse:
        await self._require_admin(context)
        user = await self._admin.disable_user(request.username)
        return admin_pb2.DisableUserResponse(user=self._user(user))

    @grpc_errors
    async def CreateApiKey(
        self, request: admin_pb2.CreateApiKeyRequest, context: Context
    ) -> admin_pb2.CreateApiKeyResponse:
        await self._require_admin(context)
        return admin_pb2.CreateApiKeyResponse(
            api_key=await self._admin.create_key(request.username)
        )

    @grpc_errors
    async def RotateApiKey(
        self, request: admin_pb2.RotateApiKeyRequest, context: Context
    ) -> admin_pb2.RotateApiKeyResponse:
        await self._require_admin(context)
        return admin_pb2.RotateApiKeyResponse(
            api_key=await self._admin.rotate_key(request.username)
        )

    @grpc_errors
    async def RevokeApiKey(
        self, request: admin_pb2.RevokeApiKeyRequest, context: Context
    ) -> admin_pb2.RevokeApiKeyResponse:
        await self._require_admin(context)
        await self._admin.revoke_key(request.username)
        return admin_pb2.RevokeApiKeyResponse()

    @grpc_errors
    async def SetGuestKey(
        self, request: admin_pb2.SetGuestKeyRequest, context: Context
    ) -> admin_pb2.SetGuestKeyResponse:
        await self._require_admin(context)
        await self._admin.set_guest_key(request.guest_key)
        return admin_pb2.SetGuestKeyResponse()

    @grpc_errors
    async def GenerateGuestKey(
        self, request: admin_pb2.GenerateGuestKeyRequest, context: Context
    ) -> admin_pb2.GenerateGuestKeyResponse:
        await self._require_admin(context)
        return admin_pb2.GenerateGuestKeyResponse(guest_key=await self._admin.generate_guest_key())

    @grpc_errors
    async def ClearGuestKey(
        self, request: admin_pb2.ClearGuestKeyRequest, context: Context
    ) -> admin_pb2.ClearGuestKeyResponse:
        await self._require_admin(context)
        await self._admin.clear_guest_key()
        return admin_pb2.ClearGuestKeyResponse()

    @grpc_errors
    async def CreateAlbum(
        self, request: admin_pb2.CreateAlbumRequest, context: Context
    ) -> admin_pb2.CreateAlbumResponse:
        caller = await self._auth.user(api_key(context, ""))
        album = await self._admin.create_album(
            caller, request.name, request.description, request.owner
        )
        return admin_pb2.CreateAlbumResponse(
            album=album_message(album, self._admin.album_id(album))
        )

    @grpc_errors
    async def ListAlbums(
        self, request: admin_pb2.ListAlbumsRequest, context: Context
    ) -> admin_pb2.ListAlbumsResponse:
        caller = await self._auth.user(api_key(context, ""))
        albums = await self._admin.albums(caller, request.owner)
        return admin_pb2.ListAlbumsResponse(
            albums=[album_message(album, self._admin.album_id(album)) for album in albums]
        )

    @grpc_errors
    async def CreateCategory(
        self, request: admin_pb2.CreateCategoryRequest, context: Context
    ) -> admin_pb2.CreateCategoryResponse:
        await self._require_admin(context)
        category = await self._admin.create_category(request.name, request.url_key)
        return admin_pb2.CreateCategoryResponse(category=category_message(category))

    @grpc_errors
    async def ListCategories(
        self, request: admin_pb2.ListCategoriesRequest, context: Context
    ) -> admin_pb2.ListCategoriesResponse:
        await self._auth.caller(api_key(context, ""))
        categories = await self._admin.categories()
        return admin_pb2.ListCategoriesResponse(
            categories=[category_message(category) for category in categories]
        )

    @grpc_errors
    async def GetSettings(
        self, request: admin_pb2.GetSettingsRequest, context: Context
    ) -> admin_pb2.GetSettingsResponse:
        await self._require_admin(context)
        settings = await self._admin.settings()
        return admin_pb2.GetSettingsResponse(settings=settings_message(settings))

    @grpc_errors
    async def UpdateSettings(
        self, request: admin_pb2.UpdateSettingsRequest, context: Context
    ) -> admin_pb2.UpdateSettingsResponse:
        await self._require_admin(context)
        updated = await self._admin.update_settings(**settings_changes(request.settings))
        return admin_pb2.UpdateSettingsResponse(settings=settings_message(updated))
