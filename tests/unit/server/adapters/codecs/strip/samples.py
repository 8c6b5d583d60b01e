"""Images to strip, built with Pillow with the metadata it can write, and ways to compare them.

Real camera photos come from ``tests/fixtures/media`` and, when ``DARKROOM_TEST_CORPUS``
names it, from the public corpus (see ``tests/support/media.py``); everything else is
built with Pillow, with the metadata Pillow can write plus blocks added by hand in the
tests (IPTC in JPEG, XMP/plain text in GIF, AVIF ``iloc`` layouts Pillow does not produce).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageSequence, PngImagePlugin

from server.adapters.codecs.strip import strip_metadata
from tests.support import media

ORIENTATION = 0x0112
GPS_IFD = 0x8825
XMP = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf'
    b'-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    b'exif:GPSLatitude="52,31.1234N" exif:UserComment="SECRET-XMP-PACKET"/></rdf:RDF>'
    b'</x:xmpmeta><?xpacket end="w"?>'
)
SECRET_GPS = b"SECRET-GPS-DATUM"


def strip(fmt: str, data: bytes, *, orientation: int = 1) -> bytes:
    out = io.BytesIO()
    strip_metadata(fmt, io.BytesIO(data), out, orientation=orientation)
    return out.getvalue()


def gps_exif(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    if orientation is not None:
        exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (52.0, 31.0, 7.5)
    gps[3] = "E"
    gps[4] = (13.0, 24.0, 1.25)
    gps[18] = SECRET_GPS.decode()  # GPSMapDatum: easy to find in raw bytes
    return exif


def picture(mode: str = "RGB", size: tuple[int, int] = (96, 64), seed: int = 0) -> Image.Image:
    """Something with edges and gradients, so codecs have real work to do."""
    im = Image.new("RGB", size)
    im.putdata(
        [
            ((x * 7 + seed * 40) % 256, (y * 11) % 256, (x * y + seed) % 256)
            for y in range(size[1])
            for x in range(size[0])
        ]
    )
    ImageDraw.Draw(im).ellipse((10, 8, 60, 50), fill=(250, 30 + seed * 50, 40))
    if mode == "RGBA":
        im.putalpha(Image.linear_gradient("L").resize(size))
    return im.convert(mode)


def frames_of(data: bytes) -> list[bytes]:
    with Image.open(io.BytesIO(data)) as im:
        return [frame.convert("RGBA").tobytes() for frame in ImageSequence.Iterator(im)]


def pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return im.tobytes()


def jpeg_sample() -> bytes:
    return media.fixture("Canon_40D.jpg").read_bytes()


def png_with_metadata(mode: str = "RGB", **save: object) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "SECRET-TEXT")
    info.add_itxt("Description", "SECRET-ITXT", lang="en", tkey="Beschreibung")
    info.add_text("Author", "SECRET-ZTXT-" * 20, zip=True)
    info.add(b"tIME", struct.pack(">HBBBBB", 2024, 5, 17, 12, 30, 0))
    info.add(b"prVt", b"SECRET-PRIVATE-CHUNK")
    buf = io.BytesIO()
    picture(mode).save(buf, "PNG", pnginfo=info, exif=gps_exif(), **save)
    return buf.getvalue()


def animated_gif(**save: object) -> bytes:
    frames = [picture("RGB", seed=seed).convert("P") for seed in range(3)]
    buf = io.BytesIO()
    frames[0].save(
        buf,
        "GIF",
        save_all=True,
        append_images=frames[1:],
        duration=[50, 70, 90],
        loop=0,
        comment=b"SECRET-GIF-COMMENT",
        **save,
    )
    return buf.getvalue()


def webp(kind: str) -> bytes:
    buf = io.BytesIO()
    options: dict[str, object] = {"exif": gps_exif(), "xmp": XMP}
    if kind == "lossy":
        picture().save(buf, "WEBP", quality=80, **options)
    elif kind == "lossless":
        picture("RGBA").save(buf, "WEBP", lossless=True, **options)
    else:
        frames = [picture("RGBA", seed=seed) for seed in range(3)]
        frames[0].save(
            buf, "WEBP", save_all=True, append_images=frames[1:], duration=60, loop=0, **options
        )
    return buf.getvalue()


def avif(orientation: int | None = None) -> bytes:
    buf = io.BytesIO()
    picture().save(buf, "AVIF", quality=90, exif=gps_exif(orientation), xmp=XMP)
    return buf.getvalue()


SAMPLES: dict[str, Callable[[], bytes]] = {
    "jpeg": jpeg_sample,
    "png": png_with_metadata,
    "gif": animated_gif,
    "webp": lambda: webp("animated"),
    "avif": avif,
}
