"""Run-time settings: what validation refuses, and the process ceiling (DARKROOM_MAX_UPLOAD_MB)."""

from __future__ import annotations

import asyncio

import pytest

from server.domain.errors import InvalidArgument
from server.services.settings import SETTINGS_VARIABLE, SettingsService, UploadSettings
from tests.unit.server.fakes import Variables


def test_a_limit_above_the_ceiling_is_refused_and_one_at_it_is_kept() -> None:
    service = SettingsService(Variables(), max_upload_mb=50)
    with pytest.raises(InvalidArgument, match="at most 50 MB"):
        asyncio.run(service.update(upload_max_filesize_mb=51))
    assert asyncio.run(service.update(upload_max_filesize_mb=50)).upload_max_filesize_mb == 50


def test_the_defaults_are_read_under_a_lower_ceiling() -> None:
    settings = asyncio.run(SettingsService(Variables(), max_upload_mb=5).current())
    assert (settings.upload_max_filesize_mb, settings.upload_max_filesize_mb_guest) == (5, 5)


def test_a_lowered_ceiling_does_not_overwrite_the_stored_limit() -> None:
    """Stored 400 under a ceiling of 500; the ceiling drops to 100 and an unrelated
    setting changes; back at 500 the limit is 400 again, not 100."""
    variables = Variables()
    asyncio.run(SettingsService(variables, 500).update(upload_max_filesize_mb=400))
    lowered = SettingsService(variables, 100)
    changed = asyncio.run(lowered.update(flood_uploads_per_minute=7))
    assert changed.upload_max_filesize_mb == 100  # what is in force now
    restored = asyncio.run(SettingsService(variables, 500).current())
    assert restored.upload_max_filesize_mb == 400
    assert restored.flood_uploads_per_minute == 7


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"flood_uploads_per_hour": -1}, "flood"),
        ({"upload_max_filesize_mb": 0}, "upload_max_filesize_mb"),
        ({"upload_max_filesize_mb_guest": -5}, "upload_max_filesize_mb"),
        ({"upload_enabled_image_formats": "jpg,tiff"}, "upload_enabled_image_formats"),
    ],
)
def test_an_invalid_change_is_refused_and_nothing_is_stored(
    changes: dict[str, object], field: str
) -> None:
    variables = Variables()
    with pytest.raises(InvalidArgument) as raised:
        asyncio.run(SettingsService(variables, 100).update(**changes))
    assert raised.value.metadata.get("field") == field
    assert variables.values == {}


def test_an_unknown_setting_is_named_in_the_refusal() -> None:
    with pytest.raises(InvalidArgument, match="Unknown settings: colour, size"):
        asyncio.run(SettingsService(Variables(), 100).update(size=1, colour="red"))


def test_zero_turns_a_flood_window_off_and_is_valid() -> None:
    updated = asyncio.run(SettingsService(Variables(), 100).update(flood_uploads_per_minute=0))
    assert updated.flood_uploads_per_minute == 0


def test_jpg_enables_jpeg_and_an_empty_list_enables_nothing() -> None:
    assert UploadSettings(upload_enabled_image_formats=" jpg , png").enabled_formats() == {
        "jpg",
        "jpeg",
        "png",
    }
    assert UploadSettings(upload_enabled_image_formats="").enabled_formats() == set()


def test_size_limits_are_decimal_megabytes_per_kind_of_key() -> None:
    settings = UploadSettings(upload_max_filesize_mb=3, upload_max_filesize_mb_guest=2)
    assert (settings.max_bytes(guest=False), settings.max_bytes(guest=True)) == (
        3_000_000,
        2_000_000,
    )


def test_a_stored_setting_this_version_does_not_know_is_ignored() -> None:
    variables = Variables()
    variables.values[SETTINGS_VARIABLE] = '{"guest_uploads": false, "retired_switch": 1}'
    settings = asyncio.run(SettingsService(variables, 100).current())
    assert settings == UploadSettings(guest_uploads=False)
