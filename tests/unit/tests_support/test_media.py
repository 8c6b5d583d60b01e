"""The generated test media are what the tests that use them take them for.

A generated photo can only stand in for a real one if it carries what the test relies
on; these checks keep the generators honest, independently of the server.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageOps, ImageStat

from tests.support import media


def _difference(a: Image.Image, b: Image.Image) -> float:
    diff = ImageChops.difference(a.convert("L"), b.convert("L"))
    return float(ImageStat.Stat(diff).mean[0])


def _thumb(im: Image.Image) -> Image.Image:
    return ImageOps.fit(im, (320, 320), Image.Resampling.LANCZOS)


@pytest.mark.parametrize("shape", list(media.SHAPES))
def test_every_wrong_turn_or_flip_of_the_scene_shows(shape: str) -> None:
    """The orientation test calls < 30 upright; every other turn of the scene is far above."""
    thumb = _thumb(media.asymmetric_scene(*media.SHAPES[shape]))
    for turn in Image.Transpose:
        assert _difference(thumb, thumb.transpose(turn)) > 40, turn


@pytest.mark.parametrize("shape", list(media.SHAPES))
@pytest.mark.parametrize("orientation", range(1, 9))
def test_oriented_jpeg_shows_the_upright_scene_when_its_tag_is_applied(
    shape: str, orientation: int
) -> None:
    # Pillow's exif_transpose is an independent reading of the tag (the table in
    # media.STORED_AS is written from the EXIF definition).
    upright = media.asymmetric_scene(*media.SHAPES[shape])
    data = media.oriented_jpeg(shape, orientation)
    with Image.open(io.BytesIO(data)) as im:
        exif = im.getexif()
        assert exif[media.ORIENTATION] == orientation
        assert exif[0x010F] == "Darkroom"  # camera EXIF beside the orientation
        assert im.size == (upright.size[::-1] if orientation >= 5 else upright.size)
        shown = ImageOps.exif_transpose(im)
    assert shown.size == upright.size
    assert _difference(_thumb(shown), _thumb(upright)) < 5


def test_camera_gps_jpeg_carries_position_camera_and_xmp() -> None:
    data = media.camera_gps_jpeg()
    with Image.open(io.BytesIO(data)) as im:
        exif = im.getexif()
        gps = exif.get_ifd(media.GPS_IFD)
        assert gps[2] == (52.0, 31.0, 7.5) and gps[4] == (13.0, 24.0, 1.25)
        assert exif[0x010F] == "Darkroom" and exif.get_ifd(media.EXIF_IFD)[0x9003]
        assert b"GPSLatitude" in im.info["xmp"]
    assert b"GPS" in data


def test_iphone_like_heic_carries_apple_exif_and_gps() -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    data = media.iphone_like_heic()
    assert data[4:12] == b"ftypheic"
    with Image.open(io.BytesIO(data)) as im:
        exif = im.getexif()
        assert (exif[0x010F], exif[0x0110]) == ("Apple", "iPhone 11 Pro Max")
        assert exif.get_ifd(media.GPS_IFD)[2] == (52.0, 31.0, 7.5)


@pytest.mark.parametrize(
    ("make", "readable"),
    [
        # Pillow salvages the one entry there is: the server must drop it all the same.
        (media.jpeg_with_exif_overrunning_its_segment, {0x010F: "ABC"}),
        (media.jpeg_with_exif_offset_past_the_end, {}),
    ],
)
def test_damaged_exif_jpegs_decode_but_their_exif_does_not(
    make: Callable[[], bytes], readable: dict[int, str]
) -> None:
    data = make()
    assert b"Exif\0\0" in data
    with pytest.warns(UserWarning, match="Corrupt EXIF"), Image.open(io.BytesIO(data)) as im:
        assert dict(im.getexif()) == readable
        im.load()


def test_tiff_photo_is_a_tiff() -> None:
    with Image.open(io.BytesIO(media.tiff_photo())) as im:
        assert im.format == "TIFF"


def test_fixtures_are_there_and_small() -> None:
    files = [path for path in media.FIXTURES.iterdir() if path.name != "README.md"]
    assert files
    readme = (media.FIXTURES / "README.md").read_text()
    for path in files:
        assert path.stat().st_size < 2 * 1024 * 1024, path
        assert f"`{path.name}`" in readme, f"{path.name} is not described in README.md"
    assert sum(path.stat().st_size for path in files) < 2 * 1024 * 1024


def test_a_corpus_path_that_is_not_a_corpus_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    find_root = media.corpus_root.__wrapped__
    monkeypatch.setenv(media.CORPUS_ENV, str(tmp_path))
    with pytest.raises(RuntimeError, match="no exif-samples/ or corpus/"):
        find_root()
    (tmp_path / "exif-samples").mkdir()
    (tmp_path / "corpus").mkdir()
    assert find_root() == tmp_path
    monkeypatch.setenv(media.CORPUS_ENV, "")
    assert find_root() is None
