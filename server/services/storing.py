"""An upload's file names, then its files stored as blobs under the first free name.

Chevereto's ``original`` naming: the stored name comes from the client's file name,
and a name already taken falls back to ``mixed`` (the name plus 16 random hex).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from server.domain import errors
from server.domain.media import Variant, blob_key
from server.domain.processing import ProcessedMedia
from server.domain.text import mixed_name, storable, stored_name_base
from server.ports import BlobExists
from server.services.ingest_session import IngestSession

_NAME_ATTEMPTS = 8
_CLIENT_NAME_MAX = 255  # the original_filename column's width


@dataclass(frozen=True)
class FileNames:
    client_name: str  # the original_filename Chevereto shows, always with an extension
    extension: str  # of the stored image
    thumb_extension: str  # of the thumb and the medium


def file_names(filename: str, processed: ProcessedMedia) -> FileNames:
    extension = processed.extension
    client_name = storable(filename)[:_CLIENT_NAME_MAX] or f"{secrets.token_hex(6)}.{extension}"
    if "." not in client_name:
        client_name = f"{client_name}.{extension}"
    if extension == "jpeg" and client_name.lower().endswith(".jpg"):
        extension = "jpg"
    # Chevereto: image derivatives share the image's extension; video ones are JPEG.
    thumb_extension = processed.thumb_extension if processed.is_video else extension
    return FileNames(client_name, extension, thumb_extension)


async def store_files(
    session: IngestSession, processed: ProcessedMedia, folder: str, names: FileNames
) -> str:
    """Store every file under the first free name; returns the name used."""
    base = stored_name_base(names.client_name, extension=names.extension) or secrets.token_hex(16)
    files = [
        (processed.path, Variant.IMAGE, names.extension),
        (processed.thumb, Variant.THUMB, names.thumb_extension),
    ]
    if processed.medium is not None:
        files.append((processed.medium, Variant.MEDIUM, names.thumb_extension))
    if processed.frame is not None:
        files.append((processed.frame, Variant.FRAME, "jpeg"))
    for attempt in range(_NAME_ATTEMPTS):
        name = base if attempt == 0 else mixed_name(base, secrets.token_hex(8))
        stored_now: list[str] = []
        try:
            for path, variant, extension in files:
                key = blob_key(folder, f"{name}{variant.value}.{extension}")
                await session.put(key, path)
                stored_now.append(key)
        except BlobExists:
            for key in stored_now:
                await session.blobs.delete(key)
                session.stored.remove(key)
            continue
        return name
    raise errors.StorageFailure("Can't find a free file name")
