"""Settings an admin changes at run time; persisted as one JSON variable.

Defaults follow a fresh Chevereto V4 install, with Darkroom's decisions
(docs/chevereto-compatibility.md §11): URL uploads on for every key, HEIC accepted.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from server.domain.errors import InvalidArgument
from server.ports import VariableStore

SETTINGS_VARIABLE = "settings"
SIZE_LIMITS = ("upload_max_filesize_mb", "upload_max_filesize_mb_guest")
KNOWN_FORMATS = ("avif", "jpg", "png", "bmp", "gif", "webp", "heic", "mov", "mp4", "webm")


@dataclass(frozen=True)
class UploadSettings:
    guest_uploads: bool = True
    enable_uploads_url: bool = True
    upload_max_filesize_mb: int = 100
    upload_max_filesize_mb_guest: int = 10
    enable_expirable_uploads: bool = True
    auto_delete_guest_uploads: str = ""
    upload_enabled_image_formats: str = ",".join(KNOWN_FORMATS)
    # Chevereto V4's flood defaults (installer.php), counted per key and per address.
    flood_protection: bool = True
    flood_uploads_per_minute: int = 50
    flood_uploads_per_hour: int = 500
    flood_uploads_per_day: int = 1000
    flood_uploads_per_week: int = 5000
    flood_uploads_per_month: int = 10000

    def enabled_formats(self) -> set[str]:
        formats = {f.strip() for f in self.upload_enabled_image_formats.split(",") if f.strip()}
        # Chevereto: "jpg" enables jpeg too, "mov" enables quicktime.
        if "jpg" in formats:
            formats.add("jpeg")
        return formats

    def max_bytes(self, guest: bool) -> int:
        mb = self.upload_max_filesize_mb_guest if guest else self.upload_max_filesize_mb
        return mb * 1000 * 1000  # decimal MB, as Chevereto's get_bytes()

    def changed(self, ceiling_mb: int, **changes: Any) -> UploadSettings:
        known = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise InvalidArgument(f"Unknown settings: {', '.join(sorted(unknown))}")
        updated = dataclasses.replace(self, **changes)
        updated.validate()
        # Every transport limit of the stack is sized for the process ceiling; a run-time
        # limit above it would fail as a transport error instead of Chevereto's answer.
        if any(changes.get(name, 0) > ceiling_mb for name in SIZE_LIMITS):
            raise InvalidArgument(
                f"Size limits can be at most {ceiling_mb} MB, the process ceiling "
                "(DARKROOM_MAX_UPLOAD_MB)",
                field="upload_max_filesize_mb",
            )
        return updated

    def within(self, ceiling_mb: int) -> UploadSettings:
        """These settings under the process ceiling, which may have been lowered since."""
        return dataclasses.replace(
            self,
            upload_max_filesize_mb=min(self.upload_max_filesize_mb, ceiling_mb),
            upload_max_filesize_mb_guest=min(self.upload_max_filesize_mb_guest, ceiling_mb),
        )

    def validate(self) -> None:
        flood = (
            self.flood_uploads_per_minute, self.flood_uploads_per_hour,
            self.flood_uploads_per_day, self.flood_uploads_per_week,
            self.flood_uploads_per_month,
        )  # fmt: skip
        if any(limit < 0 for limit in flood):
            raise InvalidArgument("Flood limits are 0 (off) or positive", field="flood")
        if self.upload_max_filesize_mb <= 0 or self.upload_max_filesize_mb_guest <= 0:
            raise InvalidArgument("Size limits must be positive", field="upload_max_filesize_mb")
        unknown = self.enabled_formats() - set(KNOWN_FORMATS) - {"jpeg"}
        if unknown:
            raise InvalidArgument(
                f"Unknown formats: {', '.join(sorted(unknown))}",
                field="upload_enabled_image_formats",
            )


class SettingsService:
    def __init__(self, variables: VariableStore, max_upload_mb: int) -> None:
        self._variables = variables
        self._ceiling_mb = max_upload_mb

    async def current(self) -> UploadSettings:
        return (await self._stored()).within(self._ceiling_mb)

    async def _stored(self) -> UploadSettings:
        raw = await self._variables.get(SETTINGS_VARIABLE)
        if raw is None:
            return UploadSettings()
        known = {f.name for f in dataclasses.fields(UploadSettings)}
        stored = {k: v for k, v in json.loads(raw).items() if k in known}
        return UploadSettings(**stored)

    async def update(self, **changes: Any) -> UploadSettings:
        # Changed from what is stored, not from what the ceiling lets through now: an
        # unrelated change under a lowered ceiling must not overwrite the stored limits.
        updated = (await self._stored()).changed(self._ceiling_mb, **changes)
        await self._variables.set(SETTINGS_VARIABLE, json.dumps(dataclasses.asdict(updated)))
        return updated.within(self._ceiling_mb)
