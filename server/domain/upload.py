"""What an upload asks for, independent of the transport it came by."""

from __future__ import annotations

from collections.abc import AsyncIterable
from dataclasses import dataclass


@dataclass(frozen=True)
class UploadOptions:
    title: str = ""
    description: str = ""
    tags: str = ""
    album_id: str = ""
    category_id: int = 0
    width: int = 0
    expiration: str = ""
    nsfw: bool = False
    use_file_date: bool = False
    filename: str = ""
    content_type: str = ""
    http_method: str = ""


@dataclass(frozen=True)
class FileSource:
    """File bytes arriving in chunks (one chunk for a unary upload)."""

    chunks: AsyncIterable[bytes]


@dataclass(frozen=True)
class UrlSource:
    url: str


@dataclass(frozen=True)
class Base64Source:
    data: str


@dataclass(frozen=True)
class TextSource:
    """A Chevereto ``source`` string, to be classified as URL or base64."""

    text: str


UploadSource = FileSource | UrlSource | Base64Source | TextSource
