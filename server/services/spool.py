"""An upload's bytes written to one local file, whatever the source, never past the limit."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from pathlib import Path

from server.domain import errors
from server.domain.text import size_formatted
from server.domain.upload import Base64Source, FileSource, UploadOptions, UrlSource
from server.ports import SourceFetcher
from server.services.sources import ClassifiedSource, decode_base64_strict


@dataclass
class Spool:
    path: Path
    size: int
    filename: str  # what the client called it; "" when nothing named it


async def spool(
    source: ClassifiedSource,
    options: UploadOptions,
    workdir: Path,
    max_bytes: int,
    fetcher: SourceFetcher,
) -> Spool:
    path = workdir / "source"
    too_big = errors.FileTooBig(
        f"File too big - max {size_formatted(max_bytes)}", max_bytes=max_bytes
    )
    if isinstance(source, FileSource):
        size = 0
        # Chunk writes go through a thread: a slow disk must not stall the loop.
        handle = await asyncio.to_thread(open, path, "wb")
        try:
            async for chunk in source.chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise too_big
                await asyncio.to_thread(handle.write, chunk)
        finally:
            await asyncio.to_thread(handle.close)
        return Spool(path, size, options.filename)
    if isinstance(source, Base64Source):
        decoded = await asyncio.to_thread(decode_base64_strict, source.data)
        if len(decoded) > max_bytes:
            raise too_big
        await asyncio.to_thread(path.write_bytes, decoded)
        # Chevereto names base64 uploads with 12 random hex digits.
        return Spool(path, len(decoded), secrets.token_hex(6))
    assert isinstance(source, UrlSource)
    handle = await asyncio.to_thread(open, path, "wb")
    try:
        fetched = await fetcher.fetch(source.url, handle, max_bytes)
    finally:
        await asyncio.to_thread(handle.close)
    return Spool(path, fetched.size, fetched.filename)
