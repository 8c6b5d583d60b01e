"""The format checks of Chevereto's Upload::validateSourceFile, on the real bytes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from server.domain import errors
from server.domain.formats import SNIFF_BYTES, FormatKind, Sniffed, sniff_bytes
from server.services.settings import UploadSettings

# What Darkroom ingests (Chevereto's UPLOAD_AVAILABLE_IMAGE_FORMATS, plus HEIC).
AVAILABLE_KINDS: frozenset[FormatKind] = frozenset(
    {"jpeg", "png", "gif", "webp", "bmp", "avif", "heic", "mp4", "mov", "webm"}
)
_SETTING_NAME = {"jpeg": "jpg"}


def _head(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(SNIFF_BYTES)


class Sniffer:
    async def identify(self, path: Path, settings: UploadSettings) -> Sniffed:
        """The file's real type, or the Chevereto error for an unusable one."""
        sniffed = sniff_bytes(await asyncio.to_thread(_head, path))
        if sniffed is None:
            raise errors.SourceInfoUnreadable()
        if sniffed.kind not in AVAILABLE_KINDS:
            raise errors.UnavailableFormat(kind=sniffed.kind)
        setting_name = _SETTING_NAME.get(sniffed.kind, sniffed.kind)
        if setting_name not in settings.enabled_formats():
            raise errors.DisabledFormat(f"Disabled image format ({setting_name})")
        return sniffed
