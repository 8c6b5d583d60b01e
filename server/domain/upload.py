"""What an upload asks for and where its bytes come from, whatever transport it came by."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterable, Callable
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

    def merged_with(self, late: UploadOptions | None) -> UploadOptions:
        """These options with every non-empty field of ``late`` taking over."""
        if late is None:
            return self
        changes = {
            field.name: getattr(late, field.name)
            for field in dataclasses.fields(late)
            if getattr(late, field.name)
        }
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class FileSource:
    """File bytes arriving in chunks (one chunk for a unary upload).

    ``late_options`` is read once the chunks are exhausted: options that arrived
    after the file, as multipart forms allow.
    """

    chunks: AsyncIterable[bytes]
    late_options: Callable[[], UploadOptions | None] = lambda: None


@dataclass(frozen=True)
class UrlSource:
    url: str


@dataclass(frozen=True)
class FetchedSource:
    """What downloading a ``UrlSource`` gave."""

    filename: str  # basename of the final URL, "" when it has none
    size: int


@dataclass(frozen=True)
class Base64Source:
    data: str


@dataclass(frozen=True)
class TextSource:
    """A Chevereto ``source`` string, to be classified as URL or base64."""

    text: str


UploadSource = FileSource | UrlSource | Base64Source | TextSource
