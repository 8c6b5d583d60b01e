"""Test media: generated photo-like images, a few real files, and an optional big corpus.

Three sources, in order of preference:

- generated here with Pillow (and pillow-heif), wherever that proves the same thing;
- ``tests/fixtures/media/``: a small set of real camera files, for what generation cannot
  honestly stand in for (real maker notes, real damaged files, real camera EXIF layouts,
  tiny files of other formats); see its README.md for origins and licences;
- the optional public corpus named by ``DARKROOM_TEST_CORPUS``: tests that only make sense
  on it (every GPS photo of the collection, multi-megabyte phone files) run when it is set
  and are skipped, with a reason saying how to get it, when it is not.
"""

from __future__ import annotations

import io
import os
import random
import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

import pytest
from PIL import Image, ImageDraw, ImageFilter

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "media"

CORPUS_ENV = "DARKROOM_TEST_CORPUS"
CORPUS_REASON = (
    f"optional corpus: set {CORPUS_ENV} to a copy of the public exif-samples collection "
    "(github.com/ianare/exif-samples) laid out as exif-samples/ and corpus/ "
    "(see tests/fixtures/media/README.md)"
)

ORIENTATION = 0x0112
EXIF_IFD = 0x8769
GPS_IFD = 0x8825


class Sample(Protocol):
    """A named file to upload: a fixture or corpus ``Path``, or a ``Generated`` one."""

    @property
    def name(self) -> str: ...

    def read_bytes(self) -> bytes: ...


@dataclass(frozen=True)
class Generated:
    name: str
    make: Callable[[], bytes]

    def read_bytes(self) -> bytes:
        return self.make()


def fixture(name: str) -> Path:
    """A file of ``tests/fixtures/media``; it must be there (it is part of the repository)."""
    path = FIXTURES / name
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing from the repository's test fixtures")
    return path


def fixtures(*names: str) -> list[pytest.ParameterSet]:
    return [pytest.param(fixture(name), id=f"fixture-{name}") for name in names]


def generated(name: str, make: Callable[[], bytes]) -> pytest.ParameterSet:
    return pytest.param(Generated(name, make), id=f"generated-{name}")


def with_values(params: list[pytest.ParameterSet], *values: object) -> list[pytest.ParameterSet]:
    """The same parameters (ids and skips kept) with more values after each."""
    return [pytest.param(*p.values, *values, id=p.id, marks=p.marks) for p in params]


# --- the optional corpus ---------------------------------------------------------------


@cache
def corpus_root() -> Path | None:
    """The corpus directory, or None when ``DARKROOM_TEST_CORPUS`` is unset or empty.

    Set to something that is not a corpus, it is an error rather than a silent skip:
    CI sets it on purpose.
    """
    value = os.environ.get(CORPUS_ENV, "").strip()
    if not value:
        return None
    root = Path(value)
    missing = [part for part in ("exif-samples", "corpus") if not (root / part).is_dir()]
    if missing:
        raise RuntimeError(
            f"{CORPUS_ENV}={value}: no {' or '.join(f'{m}/' for m in missing)} there; "
            f"unset it to skip the corpus tests ({CORPUS_REASON})"
        )
    return root


needs_corpus = pytest.mark.skipif(corpus_root() is None, reason=CORPUS_REASON)


def in_corpus(relative: str) -> Path:
    """One file of the corpus: skips the test without a corpus, fails if the file is absent."""
    root = corpus_root()
    if root is None:
        pytest.skip(CORPUS_REASON)
    path = root / relative
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {CORPUS_ENV} is set but lacks {relative}")
    return path


def corpus_glob(*patterns: str) -> list[Path]:
    """Corpus files matching the patterns ([] without a corpus); each pattern must match."""
    root = corpus_root()
    if root is None:
        return []
    found: list[Path] = []
    for pattern in patterns:
        matches = sorted(root.glob(pattern))
        if not matches:
            raise FileNotFoundError(f"{root}: {CORPUS_ENV} is set but has no {pattern}")
        found += matches
    return found


def corpus_files(*patterns: str) -> list[pytest.ParameterSet]:
    """Corpus files as test parameters; without a corpus, one parameter that is skipped."""
    if corpus_root() is None:
        return [pytest.param(None, id="corpus", marks=pytest.mark.skip(reason=CORPUS_REASON))]
    return [pytest.param(path, id=f"corpus-{path.name}") for path in corpus_glob(*patterns)]


# --- generated media -------------------------------------------------------------------


def photo_like(width: int, height: int, seed: int = 1) -> Image.Image:
    """Smooth shapes plus sensor-like noise: compresses like a photo, not like a flat fill."""
    rng = random.Random(seed)
    small = Image.new("RGB", (64, 48))
    small.putdata(
        [(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(64 * 48)]
    )
    base = small.resize((width, height), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(base)
    for _ in range(12):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = x0 + rng.randrange(width // 3 + 1), y0 + rng.randrange(height // 3 + 1)
        draw.ellipse(
            (x0, y0, x1, y1), fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256))
        )
    base = base.filter(ImageFilter.GaussianBlur(2))
    noise = Image.effect_noise((width, height), 24).convert("RGB")
    return Image.blend(base, noise, 0.12)


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def jpeg(width: int, height: int, seed: int = 1, **params: object) -> bytes:
    return encode(photo_like(width, height, seed), "JPEG", quality=90, **params)


def png_with_alpha(width: int = 640, height: int = 480) -> bytes:
    image = photo_like(width, height).convert("RGBA")
    mask = Image.new("L", (width, height), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, width, height), fill=255)
    image.putalpha(mask)
    return encode(image, "PNG")


def animated_frames(count: int = 6, size: tuple[int, int] = (300, 200)) -> list[Image.Image]:
    return [photo_like(*size, seed=seed) for seed in range(count)]


def animated_gif(count: int = 6, size: tuple[int, int] = (300, 200)) -> bytes:
    frames = [
        frame.convert("P", palette=Image.Palette.ADAPTIVE) for frame in animated_frames(count, size)
    ]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)


def animated_webp(count: int = 6, size: tuple[int, int] = (640, 360)) -> bytes:
    frames = animated_frames(count, size)
    return encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=80, loop=0)


def avif(width: int = 800, height: int = 600) -> bytes:
    return encode(photo_like(width, height), "AVIF", quality=60)


# The eight EXIF orientations, from the tag's definition (EXIF 2.3, Orientation 0x0112):
# what the stored pixels are, given the upright scene. Applying orientation N to the
# stored pixels gives the scene back. Written out here from the definition, not taken from
# Pillow's exif_transpose (which the server uses), so the two are checked against each other.
STORED_AS: dict[int, Image.Transpose | None] = {
    1: None,  # row 0 is the top, column 0 the left
    2: Image.Transpose.FLIP_LEFT_RIGHT,  # row 0 top, column 0 right
    3: Image.Transpose.ROTATE_180,  # row 0 bottom, column 0 right
    4: Image.Transpose.FLIP_TOP_BOTTOM,  # row 0 bottom, column 0 left
    5: Image.Transpose.TRANSPOSE,  # row 0 left, column 0 top
    6: Image.Transpose.ROTATE_90,  # row 0 right, column 0 top (stored turned anticlockwise)
    7: Image.Transpose.TRANSVERSE,  # row 0 right, column 0 bottom
    8: Image.Transpose.ROTATE_270,  # row 0 left, column 0 bottom (stored turned clockwise)
}

# Brightness of a 3x3 layout under the scene: chosen so that every turn and flip of a
# square crop of it differs from it by 45+ (mean grey level), far above re-encoding noise.
_LAYOUT = (130, 15, 40, 100, 160, 190, 240, 215, 70)
SHAPES = {"landscape": (600, 450), "portrait": (450, 600)}


def asymmetric_scene(width: int, height: int, seed: int = 1) -> Image.Image:
    """A photo-like scene with no symmetry: any wrong turn or flip of it shows."""
    layout = Image.new("L", (3, 3))
    layout.putdata(_LAYOUT)
    light = layout.resize((width, height), Image.Resampling.NEAREST).convert("RGB")
    return Image.blend(light, photo_like(width, height, seed), 0.3)


def camera_exif(make: str = "Darkroom", model: str = "Test Camera 1") -> Image.Exif:
    """What a camera writes: make, model, software, capture time, exposure."""
    exif = Image.Exif()
    exif[0x010F] = make
    exif[0x0110] = model
    exif[0x0131] = "Firmware 1.0"  # Software
    exif[0x0132] = "2019:07:14 10:21:05"  # DateTime
    sub = exif.get_ifd(EXIF_IFD)
    sub[0x9003] = "2019:07:14 10:21:05"  # DateTimeOriginal
    sub[0x829A] = (1.0, 250.0)  # ExposureTime
    sub[0x8827] = 100  # ISO
    return exif


def add_gps(exif: Image.Exif) -> Image.Exif:
    """A full GPS IFD; its processing method puts the bytes "GPS" in the file, as phones do."""
    gps = exif.get_ifd(GPS_IFD)
    gps[0] = b"\x02\x02\x00\x00"  # GPSVersionID
    gps[1] = "N"
    gps[2] = (52.0, 31.0, 7.5)
    gps[3] = "E"
    gps[4] = (13.0, 24.0, 1.25)
    gps[5] = b"\x00"  # above sea level
    gps[6] = 34.5
    gps[18] = "WGS-84"
    gps[27] = b"ASCII\x00\x00\x00GPS"  # GPSProcessingMethod
    gps[29] = "2019:07:14"
    return exif


# XMP as phone software writes it: the position again, outside EXIF.
GPS_XMP = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf'
    b'-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    b'exif:GPSLatitude="52,31.125N" exif:GPSLongitude="13,24.0208E"/></rdf:RDF>'
    b'</x:xmpmeta><?xpacket end="w"?>'
)


def oriented_jpeg(shape: str, orientation: int) -> bytes:
    """The same upright scene, stored so that EXIF orientation N shows it upright."""
    upright = asymmetric_scene(*SHAPES[shape])
    turn = STORED_AS[orientation]
    stored = upright if turn is None else upright.transpose(turn)
    exif = camera_exif()
    exif[ORIENTATION] = orientation
    return encode(stored, "JPEG", quality=92, exif=exif)


def oriented(shape: str, orientation: int) -> Generated:
    return Generated(f"{shape}_{orientation}.jpg", lambda: oriented_jpeg(shape, orientation))


def camera_gps_jpeg() -> bytes:
    """A camera JPEG with a GPS IFD, camera EXIF and an XMP packet with the position."""
    exif = add_gps(camera_exif("Darkroom", "GPS Camera 2"))
    return encode(photo_like(640, 480, seed=11), "JPEG", quality=90, exif=exif, xmp=GPS_XMP)


def _with_app1(jpeg_data: bytes, payload: bytes) -> bytes:
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return jpeg_data[:2] + segment + jpeg_data[2:]


def jpeg_with_exif_overrunning_its_segment() -> bytes:
    """EXIF whose first IFD claims 200 entries; the segment ends after the first one."""
    ifd = struct.pack("<H", 200) + struct.pack("<HHII", 0x010F, 2, 4, 0x00434241)
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd
    return _with_app1(jpeg(480, 360, seed=12), b"Exif\x00\x00" + tiff)


def jpeg_with_exif_offset_past_the_end() -> bytes:
    """EXIF whose first IFD is said to start 2 GB into a segment of a few bytes."""
    tiff = b"MM\x00*" + struct.pack(">I", 0x7FFF_FFFF)
    return _with_app1(jpeg(360, 480, seed=13), b"Exif\x00\x00" + tiff)


def iphone_like_heic(width: int = 480, height: int = 360) -> bytes:
    """A HEIC as a phone writes it, as far as EXIF goes: Apple make and model, GPS."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    exif = add_gps(camera_exif("Apple", "iPhone 11 Pro Max"))
    return encode(photo_like(width, height, seed=14), "HEIF", quality=80, exif=exif.tobytes())


def tiff_photo() -> bytes:
    return encode(photo_like(174, 38, seed=15), "TIFF", compression="tiff_lzw")
