"""Recognise a file's real type from its first bytes; names and declared types lie."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SNIFF_BYTES = 512

# Every format the sniffer recognises; only some are accepted (services.sniffing).
FormatKind = Literal[
    "jpeg", "png", "gif", "webp", "bmp", "avif", "heic", "mp4", "mov", "webm",
    "tiff", "ico", "jxl", "mkv",
]  # fmt: skip


@dataclass(frozen=True)
class Sniffed:
    kind: FormatKind
    mime: str
    extension: str  # Chevereto's extension for it (bmp/heic are converted later)
    is_video: bool = False


JPEG = Sniffed("jpeg", "image/jpeg", "jpeg")
PNG = Sniffed("png", "image/png", "png")
GIF = Sniffed("gif", "image/gif", "gif")
WEBP = Sniffed("webp", "image/webp", "webp")
BMP = Sniffed("bmp", "image/bmp", "bmp")
AVIF = Sniffed("avif", "image/avif", "avif")
HEIC = Sniffed("heic", "image/heic", "heic")
MP4 = Sniffed("mp4", "video/mp4", "mp4", is_video=True)
MOV = Sniffed("mov", "video/quicktime", "mov", is_video=True)
WEBM = Sniffed("webm", "video/webm", "webm", is_video=True)
# Recognised, never accepted: they get "Unavailable image format" rather than
# "can't read", which is what Chevereto answers for a TIFF or an icon.
TIFF = Sniffed("tiff", "image/tiff", "tiff")
ICO = Sniffed("ico", "image/vnd.microsoft.icon", "ico")
JXL = Sniffed("jxl", "image/jxl", "jxl")
MKV = Sniffed("mkv", "video/x-matroska", "mkv", is_video=True)

_AVIF_BRANDS = {b"avif", b"avis"}
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_QT_BRANDS = {b"qt  "}
_MP4_BRANDS = {
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"mp71",
    b"avc1", b"dash", b"M4V ", b"M4VP", b"MSNV", b"NDAS", b"f4v ", b"mmp4",
}  # fmt: skip
_BMP_DIB_SIZES = {12, 40, 52, 56, 64, 108, 124}


def _ftyp_brands(head: bytes) -> set[bytes]:
    box_size = int.from_bytes(head[0:4], "big")
    end = min(max(box_size, 16), len(head))
    brands = {head[8:12]}
    brands.update(head[i : i + 4] for i in range(16, end - 3, 4))
    return brands


def sniff_bytes(head: bytes) -> Sniffed | None:
    """The type of a file from its first bytes, or None when unrecognised."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if (
        head[:2] == b"BM"
        and len(head) >= 18
        and int.from_bytes(head[14:18], "little") in (_BMP_DIB_SIZES)
    ):
        return BMP
    if head[4:8] == b"ftyp":
        brands = _ftyp_brands(head)
        major = head[8:12]
        # AVIF files often list mif1 too, so AVIF brands are checked first.
        if major in _AVIF_BRANDS or (brands & _AVIF_BRANDS and major not in _HEIF_BRANDS):
            return AVIF
        if brands & _HEIF_BRANDS:
            return HEIC
        if major in _QT_BRANDS:
            return MOV
        if brands & _MP4_BRANDS:
            return MP4
        return None
    if head[4:8] in (b"moov", b"mdat", b"wide"):  # old QuickTime files have no ftyp
        return MOV
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return WEBM if b"webm" in head[:64] else MKV
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    if head[:4] == b"\x00\x00\x01\x00":
        return ICO
    if head.startswith(b"\xff\x0a") or head[:12] == b"\x00\x00\x00\x0cJXL \r\n\x87\n":
        return JXL
    return None
