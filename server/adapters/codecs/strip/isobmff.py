"""AVIF (any ISOBMFF/HEIF): remove the metadata items and cut their data out of ``mdat``.

``Exif`` and ``mime`` (XMP) items are removed from the top-level ``meta`` and from
``meta`` boxes inside ``moov`` (image sequences), their payload is cut out of
``mdat``, and every absolute offset (``iloc`` construction method 0,
``stco``/``co64``) is remapped.  ``udta`` inside ``moov``/``trak`` (titles, ISO 6709
location) is dropped.  Orientation lives in ``irot``/``imir`` properties, which are
untouched.  Fragmented files (``moof``) and entity groups (``grpl``) naming a
removed item are not rewritten.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import IO

from server.adapters.codecs.strip.boxes import iter_boxes, pack_box
from server.adapters.codecs.strip.heif_items import (
    Iloc,
    build_iloc,
    filter_iinf,
    filter_iprp,
    filter_iref,
    parse_iloc,
    removed_ids,
)
from server.adapters.codecs.strip.offsets import (
    IDENTITY,
    Interval,
    OffsetMap,
    Region,
    intersect,
    merge,
    subtract,
)
from server.adapters.codecs.strip.reader import Cursor, RandomAccess, random_access
from server.domain.errors import InvalidImage

_MOOV_CONTAINERS = frozenset({b"trak", b"mdia", b"minf", b"stbl"})


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

    def __init__(self, ra: RandomAccess) -> None:
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
        new_sizes = {id(box): len(self._rewrite(box, IDENTITY, collect=True)) for box in rewritten}
        # Removed item data is cut out of mdat, except bytes some kept item also uses.
        gone = subtract(merge(self.removed_data), merge(self.kept_data))
        mdat = [(b.start + len(b.header), b.end) for b in self.boxes if b.btype == b"mdat"]
        cuts = intersect(gone, merge(mdat))
        regions = [Region(start, end, end - start, True) for start, end in cuts]
        regions += [Region(b.start, b.end, b.size - new_sizes[id(b)], False) for b in rewritten]
        file_map = OffsetMap(regions)
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

    def _rewrite(self, box: _TopBox, file_map: OffsetMap, *, collect: bool) -> bytes:
        assert box.payload is not None
        if box.btype == b"meta":
            return pack_box(b"meta", self._rewrite_meta(box.payload, file_map, collect))
        return pack_box(box.btype, self._rewrite_container(box.payload, file_map, collect))

    def _rewrite_container(self, payload: bytes, file_map: OffsetMap, collect: bool) -> bytes:
        out = bytearray()
        for btype, start, body, end in iter_boxes(payload, 0):
            if btype in _MOOV_CONTAINERS:
                inner = self._rewrite_container(payload[body:end], file_map, collect)
                out += pack_box(btype, inner)
            elif btype == b"meta":
                out += pack_box(btype, self._rewrite_meta(payload[body:end], file_map, collect))
            elif btype in (b"stco", b"co64"):
                width = 4 if btype == b"stco" else 8
                out += pack_box(btype, _remap_chunk_offsets(payload[body:end], width, file_map))
            elif btype != b"udta":  # user data: titles, copyright, ISO 6709 location
                out += payload[start:end]
        return bytes(out)

    def _rewrite_meta(self, meta: bytes, file_map: OffsetMap, collect: bool) -> bytes:
        # HEIF meta is a FullBox; QuickTime-style meta (inside moov) has no version/flags.
        first_child = 0 if meta[4:8] == b"hdlr" else 4
        children = list(iter_boxes(meta, first_child))
        removed: set[int] = set()
        iloc: Iloc | None = None
        idat_length = 0
        primary_items: list[int] = []
        for btype, _, body, end in children:
            if btype == b"iinf":
                removed |= removed_ids(meta[body:end])
            elif btype == b"iloc":
                iloc = parse_iloc(meta[body:end])
            elif btype == b"idat":
                idat_length = end - body
            elif btype == b"pitm":
                c = Cursor(meta[body:end], "pitm box")
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
            idat_gone = subtract(merge(idat_removed), merge(idat_kept))
            idat_cuts = intersect(idat_gone, [(0, idat_length)])
        idat_map = OffsetMap([Region(start, end, end - start, True) for start, end in idat_cuts])

        out = bytearray(meta[:first_child])
        for btype, start, body, end in children:
            data = meta[body:end]
            if btype == b"iinf":
                out += pack_box(btype, filter_iinf(data, removed))
            elif btype == b"iloc" and iloc is not None:
                out += pack_box(btype, build_iloc(iloc, removed, file_map, idat_map))
            elif btype == b"iref":
                references = filter_iref(data, removed)
                if len(references) > 4:  # an iref without references is just noise
                    out += pack_box(btype, references)
            elif btype == b"iprp":
                out += pack_box(btype, filter_iprp(data, removed))
            elif btype == b"idat":
                pieces, pos = [], 0
                for cut_start, cut_end in idat_cuts:
                    pieces.append(data[pos:cut_start])
                    pos = cut_end
                remaining = b"".join(pieces) + data[pos:]
                if remaining:  # libavif rejects an empty idat
                    out += pack_box(btype, remaining)
            else:
                out += meta[start:end]
        return bytes(out)


def _remap_chunk_offsets(payload: bytes, width: int, file_map: OffsetMap) -> bytes:
    c = Cursor(payload, "chunk offset box", 4)
    offsets = [c.uint(width) for _ in range(c.u32())]
    return (
        payload[: c.pos - width * len(offsets)]
        + b"".join(file_map(offset).to_bytes(width, "big") for offset in offsets)
        + payload[c.pos :]
    )


def strip_isobmff(src: IO[bytes], dst: IO[bytes], orientation: int) -> None:
    del orientation  # AVIF orientation is the irot/imir properties, which stay as they are
    with random_access(src) as ra:
        _IsoStripper(ra).run(dst)
