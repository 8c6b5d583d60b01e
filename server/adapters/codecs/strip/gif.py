"""GIF: keep images, colour tables, looping and ICC; drop comments, XMP and other extensions.

``ICCRGBG1012`` (ICC profile) is kept, like ICC everywhere else; XMP
(``XMP DataXMP``) and every other application extension except the looping ones
are dropped.  A graphic control extension is re-emitted right before the image it
controls, and discarded when it controlled a dropped plain-text block.  GIF has no
orientation, so ``orientation`` is ignored.
"""

from __future__ import annotations

import io
from typing import IO

from server.adapters.codecs.strip.reader import CHUNK, Reader
from server.domain.errors import InvalidImage

_KEPT_APPLICATIONS = frozenset(
    {
        b"NETSCAPE2.0",  # loop count
        b"ANIMEXTS1.0",  # same, older spelling
        b"ICCRGBG1012",  # ICC profile: colour, not privacy, kept as in every other format
    }
)


def _sub_blocks(r: Reader, out: IO[bytes] | None) -> None:
    """Copy (or skip) a chain of data sub-blocks including its terminator."""
    batch = bytearray()
    while True:
        size = r.read_exact(1, "GIF data sub-block")
        data = r.read_exact(size[0], "GIF data sub-block") if size[0] else b""
        if out is not None:
            batch += size
            batch += data
            if len(batch) >= CHUNK or not size[0]:
                out.write(batch)
                batch.clear()
        if not size[0]:
            return


def _colour_table(r: Reader, dst: IO[bytes], packed: int) -> None:
    if packed & 0x80:
        dst.write(r.read_exact(3 << ((packed & 0x07) + 1), "GIF colour table"))


def strip_gif(src: IO[bytes], dst: IO[bytes], orientation: int) -> None:
    del orientation  # GIF has no orientation concept
    r = Reader(src)
    signature = r.read_exact(6, "GIF header")
    if signature not in (b"GIF87a", b"GIF89a"):
        raise InvalidImage("not a GIF file")
    screen = r.read_exact(7, "GIF logical screen descriptor")
    dst.write(signature + screen)
    _colour_table(r, dst, screen[4])
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
            _colour_table(r, dst, descriptor[8])
            dst.write(r.read_exact(1, "GIF LZW code size"))
            _sub_blocks(r, dst)
        elif introducer == 0x21:
            label = r.read_exact(1, "GIF extension label")[0]
            if label == 0xF9:
                gce = io.BytesIO()
                _sub_blocks(r, gce)
                pending_gce = b"\x21\xf9" + gce.getvalue()
            elif label == 0xFF:
                size = r.read_exact(1, "GIF application extension")
                ident = r.read_exact(size[0], "GIF application extension")
                keep = bool(size[0]) and ident[:11] in _KEPT_APPLICATIONS
                if keep:
                    dst.write(b"\x21\xff" + size + ident)
                if size[0]:
                    _sub_blocks(r, dst if keep else None)
            else:
                if label == 0x01:  # plain text is a rendering block: its GCE goes with it
                    pending_gce = b""
                _sub_blocks(r, None)  # comment, plain text, unknown extensions
        else:
            raise InvalidImage("corrupt GIF block")
