"""Lossless, container-level metadata removal for stored originals.

Product rule (docs/chevereto-compatibility.md §11, "Metadata"): the stored original is never
re-encoded just to strip metadata.  Instead the container is rewritten: blocks
that carry EXIF (GPS, maker notes, thumbnails), XMP, IPTC or free-text comments
are dropped, and everything that affects how pixels decode -- compressed data,
quantisation/Huffman tables, palettes, ICC profiles, animation control -- is
copied byte for byte.  The only thing we *add* is a minimal orientation tag when
the caller passes ``orientation != 1``, so that viewers keep showing the
original upright.

Per-format decisions worth knowing:

* JPEG -- everything after the EOI of the image (MPF secondary images, phone
  "trailers", appended motion-photo videos) is dropped: those payloads carry
  their own EXIF/GPS.  APPn/COM segments between progressive scans are filtered
  like the ones before the first scan.  A file without EOI is rejected.
* PNG -- unknown *critical* chunks are kept (dropping them could not make the
  file decodable), unknown ancillary chunks are dropped.  Every CRC is checked.
* GIF -- ``ICCRGBG1012`` (ICC profile) is kept, like ICC everywhere else; XMP
  (``XMP DataXMP``) and every other application extension except the looping
  ones are dropped.  A graphic control extension is re-emitted right before
  the image it controls, and discarded when it controlled a dropped plain-text
  block.  GIF has no orientation, so ``orientation`` is ignored.
* WebP -- unknown chunks are dropped along with EXIF/XMP.  Orientation is only
  written for extended (VP8X) files; simple VP8/VP8L files have nowhere to flag
  an EXIF chunk, and WebP from cameras is rare enough not to synthesise VP8X.
* AVIF (any ISOBMFF/HEIF) -- ``Exif`` and ``mime`` (XMP) items are removed from
  the top-level ``meta`` and from ``meta`` boxes inside ``moov`` (image
  sequences), their payload is cut out of ``mdat``, and every absolute offset
  (``iloc`` construction method 0, ``stco``/``co64``) is remapped.  ``udta``
  inside ``moov``/``trak`` (titles, ISO 6709 location) is dropped.  Orientation
  lives in ``irot``/``imir`` properties, which are untouched.  Fragmented
  files (``moof``) and entity groups (``grpl``) naming a removed item are not
  rewritten.

``src`` is read from its current position, which is taken as the start of the
file.  JPEG, PNG and GIF are processed in one sequential pass; WebP and AVIF
need random access and spool a non-seekable ``src`` to a temporary file.
"""

from __future__ import annotations

import io
import re
import shutil
import struct
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, BinaryIO

from server.domain.errors import InvalidImage

__all__ = ["SUPPORTED_FORMATS", "strip_metadata"]

SUPPORTED_FORMATS = frozenset({"jpeg", "png", "gif", "webp", "avif"})

# A marker that can end scan data: 0xFF then 0xC0..0xFE except RST0-7 (0xD0..0xD7).
_SCAN_MARKER = re.compile(rb"\xff[\xc0-\xcf\xd8-\xfe]")
_CHUNK = 1 << 20  # streaming granularity: big enough to be fast, small enough for 30 MB files
_SPOOL_IN_MEMORY = 8 << 20


def strip_metadata(fmt: str, src: BinaryIO, dst: BinaryIO, *, orientation: int = 1) -> None:
    """Copy the ``fmt`` image in ``src`` to ``dst`` without its metadata.

    ``orientation`` (EXIF 1..8) is written back as the only tag where the format
    has one.  Raises ``InvalidImage`` when the container structure is broken;
    ``dst`` then holds a partial copy that the caller must discard.
    """
    if not 1 <= orientation <= 8:
        raise ValueError(f"EXIF orientation must be 1..8, not {orientation}")
    handler = _HANDLERS.get(fmt)
    if handler is None:
        raise ValueError(f"unsupported format {fmt!r}")
    handler(src, dst, orientation)


# --- shared helpers -----------------------------------------------------------------------


def _orientation_tiff(orientation: int) -> bytes:
    """A TIFF/EXIF structure holding nothing but IFD0 with one Orientation tag."""
    header = b"MM\x00\x2a" + struct.pack(">I", 8)  # big-endian, IFD0 right after the header
    # One entry: tag 0x0112, type SHORT (3), count 1; the value is left-justified in 4 bytes.
    ifd = struct.pack(">HHHIHHI", 1, 0x0112, 3, 1, orientation, 0, 0)  # ... next IFD: none
    return header + ifd


class _Reader:
    """Buffered sequential reader whose short reads mean a truncated file."""

    def __init__(self, f: IO[bytes]) -> None:
        self._f = f
        self._buf = b""
        self._pos = 0

    def _fill(self, need: int) -> bool:
        """Make at least ``need`` unread bytes available; False if the file ends first."""
        while len(self._buf) - self._pos < need:
            data = self._f.read(max(_CHUNK, need))
            if not data:
                return False
            self._buf = self._buf[self._pos :] + data
            self._pos = 0
        return True

    def read_exact(self, n: int, what: str) -> bytes:
        if not self._fill(n):
            raise InvalidImage(f"truncated {what}")
        data = self._buf[self._pos : self._pos + n]
        self._pos += n
        return data

    def copy(self, n: int, out: IO[bytes] | None, what: str, crc: int = 0) -> int:
        """Stream ``n`` bytes to ``out`` (or skip them); returns the running CRC-32."""
        while n:
            if self._pos == len(self._buf) and not self._fill(1):
                raise InvalidImage(f"truncated {what}")
            take = min(n, len(self._buf) - self._pos)
            piece = memoryview(self._buf)[self._pos : self._pos + take]
            crc = zlib.crc32(piece, crc)
            if out is not None:
                out.write(piece)
            self._pos += take
            n -= take
        return crc

    def copy_entropy_coded(self, out: IO[bytes]) -> None:
        """Copy JPEG scan data verbatim up to the next marker (left unread).

        Inside entropy-coded data 0xFF is followed by 0x00 (stuffing), RST0-7 or
        another 0xFF (fill); a marker that can follow a scan is 0xC0..0xFE.  0xFF
        before a reserved code (0x02..0xBF) is corruption that decoders skip, so
        it is copied along with the data rather than read as a segment.
        """
        while True:
            if not self._fill(2):
                raise InvalidImage("JPEG scan data ends without an EOI marker")
            buf = self._buf
            # One C-speed search instead of a Python step per 0xFF (about one per
            # 256 bytes of photo data).
            marker = _SCAN_MARKER.search(buf, self._pos)
            if marker is not None:
                out.write(memoryview(buf)[self._pos : marker.start()])
                self._pos = marker.start()
                return
            # No marker in the buffer; hold back a final 0xFF whose follower is unknown yet.
            end = len(buf) - 1 if buf.endswith(b"\xff") else len(buf)
            out.write(memoryview(buf)[self._pos : end])
            self._pos = end


class _RandomAccess:
    """Positioned reads relative to where ``src`` started."""

    def __init__(self, f: IO[bytes]) -> None:
        self._f = f
        self._base = f.tell()
        self.length = f.seek(0, 2) - self._base

    def read(self, offset: int, n: int, what: str) -> bytes:
        if offset + n > self.length:
            raise InvalidImage(f"truncated {what}")
        self._f.seek(self._base + offset)
        data = self._f.read(n)
        if len(data) != n:
            raise InvalidImage(f"truncated {what}")
        return data

    def copy(self, offset: int, n: int, out: IO[bytes]) -> None:
        while n:
            take = min(n, _CHUNK)
            out.write(self.read(offset, take, "image data"))
            offset += take
            n -= take


@contextmanager
def _random_access(src: IO[bytes]) -> Iterator[_RandomAccess]:
    if src.seekable():
        yield _RandomAccess(src)
        return
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as spool:
        shutil.copyfileobj(src, spool, _CHUNK)
        spool.seek(0)
        yield _RandomAccess(spool)


class _Cursor:
    """Bounds-checked big-endian field reader over an in-memory box payload."""

    def __init__(self, data: bytes, what: str, pos: int = 0) -> None:
        self.data = data
        self.what = what
        self.pos = pos

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise InvalidImage(f"truncated {self.what}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big") if size else 0

    def u8(self) -> int:
        return self.uint(1)

    def u16(self) -> int:
        return self.uint(2)

    def u32(self) -> int:
        return self.uint(4)


# --- JPEG ---------------------------------------------------------------------------------

_SOI, _EOI, _SOS, _APP0, _APP2, _APP14, _COM = 0xD8, 0xD9, 0xDA, 0xE0, 0xE2, 0xEE, 0xFE
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0-7: no length field


def _jpeg_keep(marker: int, payload: bytes) -> bool:
    if marker == _COM:
        return False
    if not 0xE0 <= marker <= 0xEF:
        return True  # tables, frame/scan headers, DRI, DNL...: needed to decode
    if marker == _APP0:
        return payload.startswith((b"JFIF\0", b"JFXX\0"))
    if marker == _APP2:
        return payload.startswith(b"ICC_PROFILE\0")
    if marker == _APP14:
        # The Adobe segment selects the colour transform of CMYK/YCCK scans.
        return payload.startswith(b"Adobe")
    return False  # APP1 EXIF/XMP, APP13 IPTC, maker and vendor segments


def _jpeg_next_marker(r: _Reader) -> int:
    if r.read_exact(1, "JPEG marker") != b"\xff":
        raise InvalidImage("garbage between JPEG segments")
    byte = r.read_exact(1, "JPEG marker")
    while byte == b"\xff":  # fill bytes may pad any marker
        byte = r.read_exact(1, "JPEG marker")
    return byte[0]


def _strip_jpeg(src: IO[bytes], dst: IO[bytes], orientation: int) -> None:
    r = _Reader(src)
    if r.read_exact(2, "JPEG signature") != b"\xff\xd8":
        raise InvalidImage("not a JPEG file")
    dst.write(b"\xff\xd8")
    # Exif requires its APP1 first, JFIF its APP0; the de-facto order is SOI, APP0, APP1.
    exif = b"Exif\0\0" + _orientation_tiff(orientation) if orientation != 1 else b""
    pending_exif = struct.pack(">BBH", 0xFF, 0xE1, len(exif) + 2) + exif if exif else b""
    seen_scan = False
    while True:
        marker = _jpeg_next_marker(r)
        if marker == _EOI:
            if not seen_scan:
                raise InvalidImage("JPEG ends before its image data")
            dst.write(b"\xff\xd9")
            return  # anything after EOI is a foreign payload (see module docstring)
        if marker in _JPEG_STANDALONE:
            dst.write(bytes((0xFF, marker)))
            continue
        if marker == _SOI:
            raise InvalidImage("unexpected SOI marker inside JPEG")
        (length,) = struct.unpack(">H", r.read_exact(2, "JPEG segment length"))
        if length < 2:
            raise InvalidImage("corrupt JPEG segment length")
        payload = r.read_exact(length - 2, "JPEG segment")
        keep = _jpeg_keep(marker, payload)
        if pending_exif and not (keep and marker == _APP0):
            dst.write(pending_exif)
            pending_exif = b""
        if keep:
            dst.write(struct.pack(">BBH", 0xFF, marker, length))
            dst.write(payload)
        if marker == _SOS:
            seen_scan = True
            r.copy_entropy_coded(dst)


# --- PNG ----------------------------------------------------------------------------------

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Critical chunks, colour and animation: everything a decoder needs to show the same pixels.
_PNG_KEEP = frozenset(
    {
        b"IHDR",
        b"PLTE",
        b"IDAT",
        b"IEND",
        b"tRNS",
        b"gAMA",
        b"cHRM",
        b"sRGB",
        b"iCCP",
        b"sBIT",
        b"bKGD",
        b"pHYs",
        b"acTL",
        b"fcTL",
        b"fdAT",
        b"cICP",
        b"mDCv",
        b"cLLi",
    }
)


def _png_chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def _strip_png(src: IO[bytes], dst: IO[bytes], orientation: int) -> None:
    r = _Reader(src)
    if r.read_exact(8, "PNG signature") != _PNG_SIGNATURE:
        raise InvalidImage("not a PNG file")
    dst.write(_PNG_SIGNATURE)
    first = True
    while True:
        header = r.read_exact(8, "PNG chunk header")
        length, ctype = struct.unpack(">I4s", header)
        if length > 0x7FFFFFFF or not ctype.isalpha():
            raise InvalidImage("corrupt PNG chunk header")
        if first != (ctype == b"IHDR"):
            raise InvalidImage("IHDR must be the first and only PNG header chunk")
        first = False
        critical = not ctype[0] & 0x20  # upper-case first letter
        keep = ctype in _PNG_KEEP or critical
        if keep:
            dst.write(header)
        crc = r.copy(length, dst if keep else None, "PNG chunk", zlib.crc32(ctype))
        stored = r.read_exact(4, "PNG chunk CRC")
        if struct.unpack(">I", stored)[0] != crc:
            raise InvalidImage(f"bad CRC in PNG {ctype.decode('ascii')} chunk")
        if keep:
            dst.write(stored)
        if ctype == b"IHDR" and orientation != 1:
            # eXIf must precede IDAT; right after IHDR is before IDAT and any APNG fcTL.
            dst.write(_png_chunk(b"eXIf", _orientation_tiff(orientation)))
        if ctype == b"IEND":
            return  # trailing bytes after IEND are not part of the image


# --- GIF ----------------------------------------------------------------------------------

_GIF_KEPT_APPLICATIONS = frozenset(
    {
        b"NETSCAPE2.0",  # loop count
        b"ANIMEXTS1.0",  # same, older spelling
        b"ICCRGBG1012",  # ICC profile: colour, not privacy, kept as in every other format
    }
)


def _gif_sub_blocks(r: _Reader, out: IO[bytes] | None) -> None:
    """Copy (or skip) a chain of data sub-blocks including its terminator."""
    batch = bytearray()
    while True:
        size = r.read_exact(1, "GIF data sub-block")
        data = r.read_exact(size[0], "GIF data sub-block") if size[0] else b""
        if out is not None:
            batch += size
            batch += data
            if len(batch) >= _CHUNK or not size[0]:
                out.write(batch)
                batch.clear()
        if not size[0]:
            return


def _gif_colour_table(r: _Reader, dst: IO[bytes], packed: int) -> None:
    if packed & 0x80:
        dst.write(r.read_exact(3 << ((packed & 0x07) + 1), "GIF colour table"))


def _strip_gif(src: IO[bytes], dst: IO[bytes], orientation: int) -> None:
    del orientation  # GIF has no orientation concept
    r = _Reader(src)
    signature = r.read_exact(6, "GIF header")
    if signature not in (b"GIF87a", b"GIF89a"):
        raise InvalidImage("not a GIF file")
    screen = r.read_exact(7, "GIF logical screen descriptor")
    dst.write(signature + screen)
    _gif_colour_table(r, dst, screen[4])
    # A graphic control extension applies to the next rendering block; hold it until then.
    pending_gce = b""
    while True:
        introducer = r.read_exact(1, "GIF block")[0]
        if introducer == 0x3B:  # trailer
            dst.write(b"\x3b")
            return
        if introducer == 0x2C:  # image descriptor, colour table, LZW code size, data
            descriptor = r.read_exact(9, "GIF image descriptor")
            dst.write(pending_gce + b"\x2c" + descriptor)
            pending_gce = b""
            _gif_colour_table(r, dst, descriptor[8])
            dst.write(r.read_exact(1, "GIF LZW code size"))
            _gif_sub_blocks(r, dst)
        elif introducer == 0x21:
            label = r.read_exact(1, "GIF extension label")[0]
            if label == 0xF9:
                gce = io.BytesIO()
                _gif_sub_blocks(r, gce)
                pending_gce = b"\x21\xf9" + gce.getvalue()
            elif label == 0xFF:
                size = r.read_exact(1, "GIF application extension")
                ident = r.read_exact(size[0], "GIF application extension")
                keep = bool(size[0]) and ident[:11] in _GIF_KEPT_APPLICATIONS
                if keep:
                    dst.write(b"\x21\xff" + size + ident)
                if size[0]:
                    _gif_sub_blocks(r, dst if keep else None)
            else:
                if label == 0x01:  # plain text is a rendering block: its GCE goes with it
                    pending_gce = b""
                _gif_sub_blocks(r, None)  # comment, plain text, unknown extensions
        else:
            raise InvalidImage("corrupt GIF block")


# --- WebP ---------------------------------------------------------------------------------

_WEBP_KEEP = frozenset({b"VP8X", b"ICCP", b"ANIM", b"ANMF", b"ALPH", b"VP8 ", b"VP8L"})
_VP8X_EXIF, _VP8X_XMP = 0x08, 0x04


def _strip_webp(src: IO[bytes], dst: IO[bytes], orientation: int) -> None:
    with _random_access(src) as ra:
        riff, riff_size, webp = struct.unpack("<4sI4s", ra.read(0, 12, "WebP header"))
        if riff != b"RIFF" or webp != b"WEBP":
            raise InvalidImage("not a WebP file")
        end = 8 + riff_size
        if end > ra.length:
            raise InvalidImage("truncated WebP file")
        chunks: list[tuple[bytes, int, int]] = []  # fourcc, payload offset, payload size
        pos = 12
        while pos < end:
            fourcc, size = struct.unpack("<4sI", ra.read(pos, 8, "WebP chunk header"))
            if pos + 8 + size > end:
                raise InvalidImage("truncated WebP chunk")
            chunks.append((fourcc, pos + 8, size))
            pos += 8 + size + (size & 1)  # a missing pad byte after the last chunk is tolerated
        if not chunks or chunks[0][0] not in (b"VP8 ", b"VP8L", b"VP8X"):
            raise InvalidImage("WebP file without an image chunk")

        extended = chunks[0][0] == b"VP8X"
        vp8x = bytearray()
        exif = b""
        if extended:
            vp8x = bytearray(ra.read(chunks[0][1], chunks[0][2], "WebP VP8X chunk"))
            if len(vp8x) < 10:
                raise InvalidImage("truncated WebP VP8X chunk")
            vp8x[0] &= ~(_VP8X_EXIF | _VP8X_XMP) & 0xFF
            if orientation != 1:
                vp8x[0] |= _VP8X_EXIF
                tiff = _orientation_tiff(orientation)
                exif = struct.pack("<4sI", b"EXIF", len(tiff)) + tiff + b"\0" * (len(tiff) & 1)

        kept = [chunk for chunk in chunks if chunk[0] in _WEBP_KEEP]
        body = 4 + sum(8 + size + (size & 1) for _, _, size in kept) + len(exif)
        dst.write(struct.pack("<4sI4s", b"RIFF", body, b"WEBP"))
        for index, (fourcc, offset, size) in enumerate(kept):
            dst.write(struct.pack("<4sI", fourcc, size))
            if index == 0 and extended:
                dst.write(vp8x)
            else:
                ra.copy(offset, size, dst)
            if size & 1:
                dst.write(b"\0")
        dst.write(exif)  # the spec puts EXIF after the image data


# --- AVIF / ISOBMFF -----------------------------------------------------------------------

_REMOVED_ITEM_TYPES = frozenset({b"Exif", b"mime"})  # mime items are XMP (or other metadata)
_MOOV_CONTAINERS = frozenset({b"trak", b"mdia", b"minf", b"stbl"})


def _iter_boxes(data: bytes, start: int) -> Iterator[tuple[bytes, int, int, int]]:
    """Children of an in-memory container: (type, box start, payload start, box end)."""
    end = len(data)
    pos = start
    while pos < end:
        c = _Cursor(data, "ISOBMFF box header", pos)
        size, btype = c.u32(), c.take(4)
        if size == 1:
            size = c.uint(8)
        elif size == 0:
            size = end - pos
        if size < c.pos - pos or pos + size > end:
            raise InvalidImage(f"truncated ISOBMFF {btype!r} box")
        yield btype, pos, c.pos, pos + size
        pos += size


def _box(btype: bytes, payload: bytes) -> bytes:
    if len(payload) + 8 <= 0xFFFFFFFF:
        return struct.pack(">I4s", len(payload) + 8, btype) + payload
    return struct.pack(">I4sQ", 1, btype, len(payload) + 16) + payload


Interval = tuple[int, int]  # [start, end)


def _merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _subtract(removed: list[Interval], protected: list[Interval]) -> list[Interval]:
    """Parts of ``removed`` not covered by ``protected`` (both merged)."""
    result: list[Interval] = []
    for start, end in removed:
        for p_start, p_end in protected:
            if p_end <= start or p_start >= end:
                continue
            if p_start > start:
                result.append((start, p_start))
            start = max(start, p_end)
            if start >= end:
                break
        if start < end:
            result.append((start, end))
    return result


def _intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    return [(max(s1, s2), min(e1, e2)) for s1, e1 in a for s2, e2 in b if max(s1, s2) < min(e1, e2)]


@dataclass(frozen=True)
class _Region:
    start: int
    end: int
    shrink: int
    is_cut: bool  # True: bytes removed; False: a rewritten box whose inside has no stable offsets


class _OffsetMap:
    """Where a byte of the original file ends up in the output."""

    def __init__(self, regions: list[_Region]) -> None:
        self._regions = sorted(regions, key=lambda region: region.start)

    def __call__(self, pos: int, *, snap: bool = False) -> int:
        delta = 0
        for region in self._regions:
            if pos >= region.end:
                delta += region.shrink
                continue
            inside = region.start <= pos if region.is_cut else region.start < pos
            if inside:
                if not (snap and region.is_cut):
                    raise InvalidImage("item data points into bytes that are removed or rewritten")
                pos = region.start  # a base offset may point into a cut; its extents do not
            break
        return pos - delta


_IDENTITY = _OffsetMap([])


@dataclass
class _Extent:
    index: bytes
    offset: int
    length: int


@dataclass
class _IlocItem:
    item_id: int
    method: int  # construction_method: 0 file offset, 1 idat offset, 2 item offset
    data_ref: int
    base: int
    extents: list[_Extent]


@dataclass
class _Iloc:
    version: int
    flags: bytes
    offset_size: int
    length_size: int
    base_size: int
    index_size: int
    items: list[_IlocItem]


def _parse_iloc(payload: bytes) -> _Iloc:
    c = _Cursor(payload, "iloc box")
    version, flags = c.u8(), c.take(3)
    if version > 2:
        raise InvalidImage(f"unsupported iloc version {version}")
    sizes = c.u8()
    offset_size, length_size = sizes >> 4, sizes & 0x0F
    sizes = c.u8()
    base_size, index_size = sizes >> 4, (sizes & 0x0F if version else 0)
    if any(size not in (0, 4, 8) for size in (offset_size, length_size, base_size, index_size)):
        raise InvalidImage("unsupported iloc field size")
    id_size = 2 if version < 2 else 4
    items = []
    for _ in range(c.uint(id_size)):
        item_id = c.uint(id_size)
        method = c.u16() & 0x0F if version else 0
        data_ref, base = c.u16(), c.uint(base_size)
        extents = [
            _Extent(c.take(index_size), c.uint(offset_size), c.uint(length_size))
            for _ in range(c.u16())
        ]
        items.append(_IlocItem(item_id, method, data_ref, base, extents))
    return _Iloc(version, flags, offset_size, length_size, base_size, index_size, items)


def _build_iloc(
    iloc: _Iloc, removed: set[int], file_map: _OffsetMap, idat_map: _OffsetMap
) -> bytes:
    id_size = 2 if iloc.version < 2 else 4
    items = [item for item in iloc.items if item.item_id not in removed]
    out = bytearray([iloc.version]) + iloc.flags
    out += bytes([iloc.offset_size << 4 | iloc.length_size, iloc.base_size << 4 | iloc.index_size])
    out += len(items).to_bytes(id_size, "big")
    for item in items:
        if item.method == 0 and item.data_ref == 0:
            remap = file_map
        elif item.method == 1:
            remap = idat_map
        else:
            remap = _IDENTITY  # external file or offsets into another item: unaffected
        # Offsets are base + extent_offset; keep the split but move both with the data.
        new_base = remap(item.base, snap=True)
        out += item.item_id.to_bytes(id_size, "big")
        if iloc.version:
            out += struct.pack(">H", item.method)
        out += struct.pack(">H", item.data_ref) + new_base.to_bytes(iloc.base_size, "big")
        out += struct.pack(">H", len(item.extents))
        for extent in item.extents:
            new_offset = remap(item.base + extent.offset) - new_base
            out += extent.index + new_offset.to_bytes(iloc.offset_size, "big")
            out += extent.length.to_bytes(iloc.length_size, "big")
    return bytes(out)


def _parse_infe(payload: bytes) -> tuple[int, bytes]:
    """(item_ID, item_type) of an ItemInfoEntry."""
    c = _Cursor(payload, "infe box")
    version = c.u8()
    c.take(3)
    if version < 2:
        return c.u16(), b"mime"  # v0/v1 entries carry only a MIME content type
    item_id = c.u16() if version == 2 else c.u32()
    c.take(2)  # item_protection_index
    return item_id, c.take(4)


def _full_box_header(payload: bytes, what: str) -> tuple[int, int]:
    """(version, size of the entry count field) of iinf/iref-style full boxes."""
    if len(payload) < 4:
        raise InvalidImage(f"truncated {what} box")
    return payload[0], 2 if payload[0] == 0 else 4


def _removed_ids(iinf: bytes) -> set[int]:
    _, count_size = _full_box_header(iinf, "iinf")
    removed = set()
    for btype, _, body, end in _iter_boxes(iinf, 4 + count_size):
        if btype == b"infe":
            item_id, item_type = _parse_infe(iinf[body:end])
            if item_type in _REMOVED_ITEM_TYPES:
                removed.add(item_id)
    return removed


def _filter_iinf(iinf: bytes, removed: set[int]) -> bytes:
    _, count_size = _full_box_header(iinf, "iinf")
    kept = [
        iinf[start:end]
        for btype, start, body, end in _iter_boxes(iinf, 4 + count_size)
        if btype != b"infe" or _parse_infe(iinf[body:end])[0] not in removed
    ]
    count = sum(1 for entry in kept if entry[4:8] == b"infe")
    return iinf[:4] + count.to_bytes(count_size, "big") + b"".join(kept)


def _filter_iref(iref: bytes, removed: set[int]) -> bytes:
    _, id_size = _full_box_header(iref, "iref")
    out = bytearray(iref[:4])
    for btype, _, body, end in _iter_boxes(iref, 4):
        c = _Cursor(iref[body:end], "iref entry")
        from_id = c.uint(id_size)
        to_ids = [c.uint(id_size) for _ in range(c.u16())]
        kept_to = [item for item in to_ids if item not in removed]
        if from_id in removed or not kept_to:
            continue
        entry = from_id.to_bytes(id_size, "big") + struct.pack(">H", len(kept_to))
        out += _box(btype, entry + b"".join(item.to_bytes(id_size, "big") for item in kept_to))
    return bytes(out)


def _filter_ipma(ipma: bytes, removed: set[int]) -> bytes:
    c = _Cursor(ipma, "ipma box")
    version, flags = c.u8(), c.take(3)
    id_size, assoc_size = (2 if version < 1 else 4), (2 if flags[2] & 1 else 1)
    kept = []
    for _ in range(c.u32()):
        start = c.pos
        item_id = c.uint(id_size)
        c.take(c.u8() * assoc_size)
        if item_id not in removed:
            kept.append(ipma[start : c.pos])
    return ipma[:4] + struct.pack(">I", len(kept)) + b"".join(kept) + ipma[c.pos :]


def _filter_iprp(iprp: bytes, removed: set[int]) -> bytes:
    out = bytearray()
    for btype, start, body, end in _iter_boxes(iprp, 0):
        # Properties in ipco are shared by index; orphaned ones are harmless, so ipco stays.
        if btype == b"ipma":
            out += _box(btype, _filter_ipma(iprp[body:end], removed))
        else:
            out += iprp[start:end]
    return bytes(out)


@dataclass
class _TopBox:
    btype: bytes
    start: int
    header: bytes
    size: int
    payload: bytes | None = None  # loaded for the boxes we rewrite (meta, moov)

    @property
    def end(self) -> int:
        return self.start + self.size


class _IsoStripper:
    """Two passes over the structure boxes: learn what shrinks, then write with remapped offsets."""

    def __init__(self, ra: _RandomAccess) -> None:
        self.ra = ra
        self.boxes = self._scan()
        # Collected in the first pass: absolute ranges of removed and kept item data.
        self.removed_data: list[Interval] = []
        self.kept_data: list[Interval] = []

    def _scan(self) -> list[_TopBox]:
        boxes: list[_TopBox] = []
        pos = 0
        while pos < self.ra.length:
            header = self.ra.read(pos, 8, "ISOBMFF box header")
            size, btype = struct.unpack(">I4s", header)
            if size == 1:
                header += self.ra.read(pos + 8, 8, "ISOBMFF box header")
                size = struct.unpack(">Q", header[8:])[0]
            elif size == 0:
                size = self.ra.length - pos  # last box, runs to the end of the file
            if size < len(header) or pos + size > self.ra.length:
                raise InvalidImage(f"truncated ISOBMFF {btype!r} box")
            box = _TopBox(btype, pos, header, size)
            if btype in (b"meta", b"moov"):
                box.payload = self.ra.read(pos + len(header), size - len(header), "ISOBMFF box")
            boxes.append(box)
            pos += size
        if not boxes or boxes[0].btype != b"ftyp":
            raise InvalidImage("not an ISOBMFF file (no leading ftyp box)")
        if sum(box.btype == b"meta" for box in boxes) != 1:
            raise InvalidImage("HEIF file needs exactly one top-level meta box")
        return boxes

    def run(self, dst: IO[bytes]) -> None:
        # Pass 1: rewrite with unchanged offsets, which only tells us sizes and removed data.
        rewritten = [box for box in self.boxes if box.payload is not None]
        new_sizes = {id(box): len(self._rewrite(box, _IDENTITY, collect=True)) for box in rewritten}
        # Removed item data is cut out of mdat, except bytes some kept item also uses.
        gone = _subtract(_merge(self.removed_data), _merge(self.kept_data))
        mdat = [(b.start + len(b.header), b.end) for b in self.boxes if b.btype == b"mdat"]
        cuts = _intersect(gone, _merge(mdat))
        regions = [_Region(start, end, end - start, True) for start, end in cuts]
        regions += [_Region(b.start, b.end, b.size - new_sizes[id(b)], False) for b in rewritten]
        file_map = _OffsetMap(regions)
        # Pass 2: the same rewrite, now with the final offsets (field widths do not change).
        for box in self.boxes:
            if box.payload is not None:
                dst.write(self._rewrite(box, file_map, collect=False))
            else:
                inside = [cut for cut in cuts if box.start <= cut[0] < box.end]
                self._copy_with_cuts(box, inside, dst)

    def _copy_with_cuts(self, box: _TopBox, cuts: list[Interval], dst: IO[bytes]) -> None:
        new_size = box.size - sum(end - start for start, end in cuts)
        header = box.header
        if len(header) == 16:
            header = header[:8] + struct.pack(">Q", new_size)
        elif header[:4] != b"\0\0\0\0":  # size 0 ("to end of file") stays valid as it is
            header = struct.pack(">I", new_size) + header[4:]
        dst.write(header)
        pos = box.start + len(box.header)
        for start, end in [*cuts, (box.end, box.end)]:
            self.ra.copy(pos, start - pos, dst)
            pos = end

    def _rewrite(self, box: _TopBox, file_map: _OffsetMap, *, collect: bool) -> bytes:
        assert box.payload is not None
        if box.btype == b"meta":
            return _box(b"meta", self._rewrite_meta(box.payload, file_map, collect))
        return _box(box.btype, self._rewrite_container(box.payload, file_map, collect))

    def _rewrite_container(self, payload: bytes, file_map: _OffsetMap, collect: bool) -> bytes:
        out = bytearray()
        for btype, start, body, end in _iter_boxes(payload, 0):
            if btype in _MOOV_CONTAINERS:
                out += _box(btype, self._rewrite_container(payload[body:end], file_map, collect))
            elif btype == b"meta":
                out += _box(btype, self._rewrite_meta(payload[body:end], file_map, collect))
            elif btype in (b"stco", b"co64"):
                width = 4 if btype == b"stco" else 8
                out += _box(btype, _remap_chunk_offsets(payload[body:end], width, file_map))
            elif btype != b"udta":  # user data: titles, copyright, ISO 6709 location
                out += payload[start:end]
        return bytes(out)

    def _rewrite_meta(self, meta: bytes, file_map: _OffsetMap, collect: bool) -> bytes:
        # HEIF meta is a FullBox; QuickTime-style meta (inside moov) has no version/flags.
        first_child = 0 if meta[4:8] == b"hdlr" else 4
        children = list(_iter_boxes(meta, first_child))
        removed: set[int] = set()
        iloc: _Iloc | None = None
        idat_length = 0
        primary_items: list[int] = []
        for btype, _, body, end in children:
            if btype == b"iinf":
                removed |= _removed_ids(meta[body:end])
            elif btype == b"iloc":
                iloc = _parse_iloc(meta[body:end])
            elif btype == b"idat":
                idat_length = end - body
            elif btype == b"pitm":
                c = _Cursor(meta[body:end], "pitm box")
                version = c.u8()
                c.take(3)
                primary_items.append(c.uint(2 if version == 0 else 4))

        if removed.intersection(primary_items):
            raise InvalidImage("the primary item is a metadata item")

        idat_cuts: list[Interval] = []
        if iloc is not None:
            idat_removed: list[Interval] = []
            idat_kept: list[Interval] = []
            for item in iloc.items:
                gone = item.item_id in removed
                for extent in item.extents:
                    start = item.base + extent.offset
                    if item.method == 1:
                        end = start + extent.length if extent.length else idat_length
                        (idat_removed if gone else idat_kept).append((start, end))
                    elif item.method == 0 and item.data_ref == 0:
                        end = start + extent.length if extent.length else self.ra.length
                        if end > self.ra.length:
                            raise InvalidImage("item data beyond the end of the file")
                        if collect and (extent.length or not gone):
                            (self.removed_data if gone else self.kept_data).append((start, end))
            idat_gone = _subtract(_merge(idat_removed), _merge(idat_kept))
            idat_cuts = _intersect(idat_gone, [(0, idat_length)])
        idat_map = _OffsetMap([_Region(start, end, end - start, True) for start, end in idat_cuts])

        out = bytearray(meta[:first_child])
        for btype, start, body, end in children:
            data = meta[body:end]
            if btype == b"iinf":
                out += _box(btype, _filter_iinf(data, removed))
            elif btype == b"iloc" and iloc is not None:
                out += _box(btype, _build_iloc(iloc, removed, file_map, idat_map))
            elif btype == b"iref":
                references = _filter_iref(data, removed)
                if len(references) > 4:  # an iref without references is just noise
                    out += _box(btype, references)
            elif btype == b"iprp":
                out += _box(btype, _filter_iprp(data, removed))
            elif btype == b"idat":
                pieces, pos = [], 0
                for cut_start, cut_end in idat_cuts:
                    pieces.append(data[pos:cut_start])
                    pos = cut_end
                remaining = b"".join(pieces) + data[pos:]
                if remaining:  # libavif rejects an empty idat
                    out += _box(btype, remaining)
            else:
                out += meta[start:end]
        return bytes(out)


def _remap_chunk_offsets(payload: bytes, width: int, file_map: _OffsetMap) -> bytes:
    c = _Cursor(payload, "chunk offset box", 4)
    offsets = [c.uint(width) for _ in range(c.u32())]
    return (
        payload[: c.pos - width * len(offsets)]
        + b"".join(file_map(offset).to_bytes(width, "big") for offset in offsets)
        + payload[c.pos :]
    )


def _strip_avif(src: IO[bytes], dst: IO[bytes], orientation: int) -> None:
    del orientation  # AVIF orientation is the irot/imir properties, which stay as they are
    with _random_access(src) as ra:
        _IsoStripper(ra).run(dst)


_HANDLERS: dict[str, Callable[[IO[bytes], IO[bytes], int], None]] = {
    "jpeg": _strip_jpeg,
    "png": _strip_png,
    "gif": _strip_gif,
    "webp": _strip_webp,
    "avif": _strip_avif,
}
