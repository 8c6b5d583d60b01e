"""Camera photos, generated and real: orientation, GPS, damaged metadata, damaged pixels, bombs."""

from __future__ import annotations

import io
import struct
import zlib

import grpc
import pytest
from PIL import Image, ImageChops, ImageStat

from tests.integration.test_upload_formats import upload
from tests.support import media
from tests.support.server import RunningServer, chevereto_error
from tests.support.stored import open_stored, stored_bytes

GPS_PHOTOS = [
    media.generated("camera-gps.jpg", media.camera_gps_jpeg),
    *media.fixtures("DSCN0010.jpg", "32-lens_data.jpeg"),
    *media.corpus_files("exif-samples/jpg/gps/*.jpg", "corpus/jpg/gps/*.jpg"),
]
DAMAGED_METADATA = [
    media.generated("exif-overruns-segment.jpg", media.jpeg_with_exif_overrunning_its_segment),
    media.generated("exif-offset-past-end.jpg", media.jpeg_with_exif_offset_past_the_end),
    *media.fixtures("image02206.jpg"),
    *media.corpus_files(
        "exif-samples/jpg/corrupted.jpg",
        "exif-samples/jpg/invalid/*.jpg",
        "corpus/jpg/invalid/*.jpg",
    ),
]


def _difference(a: Image.Image, b: Image.Image) -> float:
    diff = ImageChops.difference(a.convert("L"), b.convert("L"))
    return float(ImageStat.Stat(diff).mean[0])


def _orientation_set(source: str, shape: str) -> dict[int, media.Sample]:
    """The same scene stored eight ways, one per EXIF orientation."""
    if source == "generated":
        return {n: media.oriented(shape, n) for n in range(1, 9)}
    return {
        n: media.in_corpus(f"exif-samples/jpg/orientation/{shape}_{n}.jpg") for n in range(1, 9)
    }


@pytest.mark.parametrize("shape", ["landscape", "portrait"])
@pytest.mark.parametrize("source", ["generated", pytest.param("corpus", marks=media.needs_corpus)])
def test_every_exif_orientation_gives_upright_derivatives_and_displayed_size(
    server: RunningServer, user_key: str, source: str, shape: str
) -> None:
    results = {}
    for n, sample in _orientation_set(source, shape).items():
        results[n] = upload(server, user_key, sample.read_bytes(), sample.name)

    reference = results[1]
    assert (reference.width > reference.height) == (shape == "landscape")
    with open_stored(server, reference.thumb.url) as ref_thumb:
        ref = ref_thumb.copy()
    with (
        open_stored(server, reference.medium.url)
        if reference.medium.url
        else (open_stored(server, reference.url)) as ref_medium
    ):
        ref_display = ref_medium.copy()
    for n, m in results.items():
        # The same scene in every file: reported size is the displayed one.
        assert (m.width, m.height) == (reference.width, reference.height), n
        with open_stored(server, m.thumb.url) as thumb:
            assert thumb.size == (320, 320)
            # Upright copies differ by ~15 (re-encoding); a wrong turn or flip by 55+.
            assert _difference(thumb, ref) < 30, f"{shape}_{n} thumb is not upright"
        if m.medium.url:
            with open_stored(server, m.medium.url) as medium:
                assert medium.size == ref_display.size
                assert _difference(medium, ref_display) < 30, f"{shape}_{n} medium"
        # The original keeps its pixels; only the orientation tag survives.
        with open_stored(server, m.url) as original:
            exif = original.getexif()
            assert set(exif) <= {0x0112}
            assert exif.get(0x0112, 1) == n


@pytest.mark.parametrize("sample", GPS_PHOTOS)
def test_gps_and_camera_metadata_never_reach_a_stored_file(
    server: RunningServer, user_key: str, sample: media.Sample
) -> None:
    original = sample.read_bytes()
    with Image.open(io.BytesIO(original)) as before:
        assert before.getexif().get_ifd(0x8825), "sample should carry GPS"
    m = upload(server, user_key, original, sample.name)
    for url in (m.url, m.thumb.url, m.medium.url):
        if not url:
            continue
        data = stored_bytes(server, url)
        with Image.open(io.BytesIO(data)) as stored:
            exif = stored.getexif()
            assert not exif.get_ifd(0x8825)
            assert set(exif) <= {0x0112}
            assert "xmp" not in stored.info
        assert b"GPS" not in data
    # Lossless: the stored original decodes to exactly the uploaded pixels.
    with Image.open(io.BytesIO(original)) as a, open_stored(server, m.url) as b:
        assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("sample", DAMAGED_METADATA)
def test_photos_with_damaged_metadata_are_kept_without_it(
    server: RunningServer, user_key: str, sample: media.Sample
) -> None:
    m = upload(server, user_key, sample.read_bytes(), sample.name)
    with open_stored(server, m.url) as stored:
        stored.load()
        assert set(stored.getexif()) <= {0x0112}
        assert (m.width, m.height) in (stored.size, stored.size[::-1])


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image: a decompression bomb's shape."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


def _cut(data: bytes, fraction: float) -> bytes:
    return data[: int(len(data) * fraction)]


GOOD_JPEG = media.jpeg(1200, 900, seed=7)
BAD_INPUTS = {
    "zero-bytes": (b"", 610, "Can't get target upload source info"),
    "jpeg-cut-mid-file": (_cut(GOOD_JPEG, 0.5), 400, "Invalid image"),
    "jpeg-cut-after-header": (_cut(GOOD_JPEG, 0.05), 400, "Invalid image"),
    "garbage-with-jpeg-header": (
        b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40,
        610,
        "Can't get target upload source info",
    ),
    "png-cut-mid-file": (_cut(media.png_with_alpha(), 0.6), 400, "Invalid image"),
    "gif-cut-mid-file": (_cut(media.animated_gif(), 0.7), 400, "Invalid image"),
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_damaged_image_data_is_refused_and_nothing_is_left(
    server: RunningServer, user_key: str, name: str
) -> None:
    data, code, message = BAD_INPUTS[name]
    before = server.stored_files()
    with pytest.raises(grpc.RpcError) as failure:
        upload(server, user_key, data, f"{name}.jpg")
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert chevereto_error(failure.value) == (code, message)
    assert server.stored_files() == before
    assert server.scratch_files() == []


def test_decompression_bomb_is_refused_from_its_header(
    server: RunningServer, user_key: str
) -> None:
    bomb = _png_claiming(60_000, 60_000)
    rss_before = server.rss_bytes()
    with pytest.raises(grpc.RpcError) as failure:
        upload(server, user_key, bomb, "bomb.png")
    assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    code, message = chevereto_error(failure.value)
    assert code == 400 and "largest side allowed is 30000" in message
    # 3.6 gigapixels were never decoded: the server did not grow by gigabytes.
    assert server.rss_bytes() - rss_before < 64 * 1024 * 1024
    assert server.scratch_files() == []


def test_too_many_pixels_is_refused(server: RunningServer, user_key: str) -> None:
    with pytest.raises(grpc.RpcError) as failure:
        upload(server, user_key, _png_claiming(20_000, 20_000), "wide.png")
    code, message = chevereto_error(failure.value)
    assert code == 400 and "at most 100000000 are allowed" in message
