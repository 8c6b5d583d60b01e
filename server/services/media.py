"""Reading and deleting media: lookups, pages, delete by key or token."""

from __future__ import annotations

from dataclasses import dataclass

from server.domain import errors
from server.domain.caller import Caller
from server.domain.ids import IdCodec, row_id
from server.domain.media import MediaRecord
from server.ports import AlbumRepo, BlobStore, Clock, MediaRepo, UserRepo
from server.services.credentials import Credentials
from server.services.image_view import ImageView, MediaPresenter

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50


@dataclass(frozen=True)
class MediaListPage:
    images: list[ImageView]
    next_page_token: str


class MediaService:
    def __init__(
        self,
        *,
        media: MediaRepo,
        users: UserRepo,
        albums: AlbumRepo,
        blobs: BlobStore,
        secrets: Credentials,
        ids: IdCodec,
        presenter: MediaPresenter,
        clock: Clock,
    ) -> None:
        self._media = media
        self._users = users
        self._albums = albums
        self._blobs = blobs
        self._secrets = secrets
        self._ids = ids
        self._presenter = presenter
        self._clock = clock

    async def record(self, id_encoded: str) -> MediaRecord:
        media_id = row_id(self._ids, id_encoded)
        record = await self._media.get(media_id) if media_id is not None else None
        if record is None:
            raise errors.MediaNotFound(id=id_encoded)
        return record

    async def get(self, id_encoded: str) -> ImageView:
        record = await self.record(id_encoded)
        return self._presenter.image_object(record, now=self._clock.now())

    async def list(
        self,
        caller: Caller,
        *,
        page_size: int,
        page_token: str,
        album_id: str,
        owner: str,
    ) -> MediaListPage:
        if caller.is_guest:
            raise errors.PermissionDenied("Listing media needs a user key")
        if page_size < 0:
            raise errors.InvalidArgument("page_size must not be negative", field="page_size")
        limit = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        before_id = None
        if page_token:
            before_id = row_id(self._ids, page_token)
            if before_id is None:
                raise errors.InvalidArgument("Invalid page_token", field="page_token")
        user_id = caller.user_id
        if owner:
            user = await self._users.user_by_name(owner)
            if user is None:
                raise errors.NotFound(f"No user {owner!r}", field="owner")
            if user.id != caller.user_id and not caller.is_admin:
                raise errors.PermissionDenied("Only admins list other users' media")
            user_id = user.id
        elif caller.is_admin:
            user_id = None
        album = None
        if album_id:
            album_row = row_id(self._ids, album_id)
            album = await self._albums.album(album_row) if album_row else None
            if album is None:
                raise errors.NotFound("No such album", field="album_id")
            if album.user_id != caller.user_id and not caller.is_admin:
                raise errors.PermissionDenied("Not your album")
        page = await self._media.page(
            limit=limit,
            before_id=before_id,
            user_id=user_id,
            album_id=album.id if album else None,
        )
        now = self._clock.now()
        return MediaListPage(
            [self._presenter.image_object(item, now=now) for item in page.items],
            self._ids.encode(page.next_before_id) if page.next_before_id else "",
        )

    async def delete(
        self, id_encoded: str, *, caller: Caller | None, delete_token: str
    ) -> MediaRecord:
        """Delete by delete token, or by the owner's or an admin's key."""
        record = await self.record(id_encoded)
        allowed = bool(delete_token) and self._secrets.matches(
            "delete-token", delete_token, record.delete_token_hash
        )
        if not allowed and caller is not None:
            allowed = caller.is_admin or (
                caller.user_id is not None and caller.user_id == record.user_id
            )
        if not allowed:
            # A wrong token looks exactly like a missing media item (Chevereto: 404).
            raise errors.MediaNotFound(id=id_encoded)
        await self.remove(record)
        return record

    async def remove(self, record: MediaRecord) -> bool:
        """Forget the row first, then the files: a crash in between leaves only
        unreferenced files, never a row that points at nothing.

        Only the caller whose delete took the row deletes the files: a loser (another
        replica's delete, the reaper) must not, since a new upload may by then have
        reused a key. False when the row was already gone."""
        assert record.id is not None
        if not await self._media.delete(record.id):
            return False
        await self.delete_files(record)
        return True

    async def delete_files(self, record: MediaRecord) -> None:
        """The files of a record whose row this process has deleted (or claimed): each
        one tried, then the first failure raised."""
        failure: errors.StorageFailure | None = None
        for key in record.blob_keys():
            try:
                await self._blobs.delete(key)
            except errors.StorageFailure as error:
                failure = failure or error
        if failure is not None:
            raise failure
