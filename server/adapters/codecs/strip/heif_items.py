"""HEIF items: parse the item boxes of a ``meta`` and rewrite them without the removed items.

``Exif`` and ``mime`` (XMP) items are the ones removed.  ``iloc`` is rebuilt with the
same field widths and remapped offsets; ``iinf``, ``iref`` and ``ipma`` lose the
entries that name a removed item.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from server.adapters.codecs.strip.boxes import iter_boxes, pack_box
from server.adapters.codecs.strip.offsets import IDENTITY, OffsetMap
from server.adapters.codecs.strip.reader import Cursor
from server.domain.errors import InvalidImage

_REMOVED_ITEM_TYPES = frozenset({b"Exif", b"mime"})  # mime items are XMP (or other metadata)


@dataclass
class Extent:
    index: bytes
    offset: int
    length: int


@dataclass
class IlocItem:
    item_id: int
    method: int  # construction_method: 0 file offset, 1 idat offset, 2 item offset
    data_ref: int
    base: int
    extents: list[Extent]


@dataclass
class Iloc:
    version: int
    flags: bytes
    offset_size: int
    length_size: int
    base_size: int
    index_size: int
    items: list[IlocItem]


def parse_iloc(payload: bytes) -> Iloc:
    c = Cursor(payload, "iloc box")
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
            Extent(c.take(index_size), c.uint(offset_size), c.uint(length_size))
            for _ in range(c.u16())
        ]
        items.append(IlocItem(item_id, method, data_ref, base, extents))
    return Iloc(version, flags, offset_size, length_size, base_size, index_size, items)


def build_iloc(iloc: Iloc, removed: set[int], file_map: OffsetMap, idat_map: OffsetMap) -> bytes:
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
            remap = IDENTITY  # external file or offsets into another item: unaffected
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
    c = Cursor(payload, "infe box")
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


def removed_ids(iinf: bytes) -> set[int]:
    _, count_size = _full_box_header(iinf, "iinf")
    removed = set()
    for btype, _, body, end in iter_boxes(iinf, 4 + count_size):
        if btype == b"infe":
            item_id, item_type = _parse_infe(iinf[body:end])
            if item_type in _REMOVED_ITEM_TYPES:
                removed.add(item_id)
    return removed


def filter_iinf(iinf: bytes, removed: set[int]) -> bytes:
    _, count_size = _full_box_header(iinf, "iinf")
    kept = [
        iinf[start:end]
        for btype, start, body, end in iter_boxes(iinf, 4 + count_size)
        if btype != b"infe" or _parse_infe(iinf[body:end])[0] not in removed
    ]
    count = sum(1 for entry in kept if entry[4:8] == b"infe")
    return iinf[:4] + count.to_bytes(count_size, "big") + b"".join(kept)


def filter_iref(iref: bytes, removed: set[int]) -> bytes:
    _, id_size = _full_box_header(iref, "iref")
    out = bytearray(iref[:4])
    for btype, _, body, end in iter_boxes(iref, 4):
        c = Cursor(iref[body:end], "iref entry")
        from_id = c.uint(id_size)
        to_ids = [c.uint(id_size) for _ in range(c.u16())]
        kept_to = [item for item in to_ids if item not in removed]
        if from_id in removed or not kept_to:
            continue
        entry = from_id.to_bytes(id_size, "big") + struct.pack(">H", len(kept_to))
        out += pack_box(btype, entry + b"".join(item.to_bytes(id_size, "big") for item in kept_to))
    return bytes(out)


def _filter_ipma(ipma: bytes, removed: set[int]) -> bytes:
    c = Cursor(ipma, "ipma box")
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


def filter_iprp(iprp: bytes, removed: set[int]) -> bytes:
    out = bytearray()
    for btype, start, body, end in iter_boxes(iprp, 0):
        # Properties in ipco are shared by index; orphaned ones are harmless, so ipco stays.
        if btype == b"ipma":
            out += pack_box(btype, _filter_ipma(iprp[body:end], removed))
        else:
            out += iprp[start:end]
    return bytes(out)
