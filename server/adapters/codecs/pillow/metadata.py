"""What an image file says about itself (EXIF, IPTC, XMP), read without decoding pixels.

Only the header is parsed; a damaged or hostile metadata block yields "no value",
never an error, because it must not stop the upload of a good picture.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from PIL import Image, ImageFile, IptcImagePlugin

from server.domain.text import clean_exif_text

_XMP_NS = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "GPano": "http://ns.google.com/photos/1.0/panorama/",
}


def _exif(im: Image.Image) -> Image.Exif:
    """The EXIF block the header carried; never decodes pixels.

    ``Image.getexif()`` is not safe here: for PNG it loads the whole image to look
    for an eXIf chunk after the pixel data, which would decode a bomb.
    """
    exif = Image.Exif()
    raw = im.info.get("exif")
    if raw:
        exif.load(raw)
    return exif


def orientation(im: Image.Image, kind: str) -> int:
    """The EXIF orientation (1..8) the pixels still need, 1 when unknown."""
    # HEIF and AVIF carry orientation as irot/imir, which their decoders apply.
    if kind in ("heic", "avif"):
        return 1
    try:
        value = int(_exif(im).get(0x0112, 1))
    except Exception:
        return 1
    return value if value in range(1, 9) else 1


@dataclass
class Embedded:
    title: str | None = None
    description: str | None = None
    taken_at: datetime | None = None
    is_360: bool = False


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    cleaned = clean_exif_text(value).strip()
    return cleaned or None


def _exif_date(value: object) -> datetime | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def _xmp_facts(im: Image.Image, embedded: Embedded) -> None:
    packet = im.info.get("xmp")
    if not packet:
        return
    root = ET.fromstring(packet.strip(b"\x00 \r\n") if isinstance(packet, bytes) else packet)
    title = root.find(".//dc:title//rdf:li", _XMP_NS)
    if embedded.title is None and title is not None:
        embedded.title = _text(title.text)
    projection_attr = f"{{{_XMP_NS['GPano']}}}ProjectionType"
    for element in root.iter():
        value = element.get(projection_attr) or (
            element.text if element.tag == projection_attr else None
        )
        if value and value.strip().lower() == "equirectangular":
            embedded.is_360 = True


def embedded(im: ImageFile.ImageFile) -> Embedded:
    """Title, description and date from the file's own metadata; damage is ignored."""
    found = Embedded()
    with suppress(Exception):
        exif = _exif(im)
        found.description = _text(exif.get(0x010E))
        sub = exif.get_ifd(0x8769)
        found.taken_at = _exif_date(sub.get(0x9003)) or _exif_date(exif.get(0x0132))
    with suppress(Exception):
        iptc = IptcImagePlugin.getiptcinfo(im) or {}
        found.title = _text(iptc.get((2, 5)))
    with suppress(Exception):
        _xmp_facts(im, found)
    return found
