"""Lossless, container-level metadata removal for stored originals.

Product rule (docs/chevereto-compatibility.md §11, "Metadata"): the stored original is never
re-encoded just to strip metadata.  Instead the container is rewritten: blocks
that carry EXIF (GPS, maker notes, thumbnails), XMP, IPTC or free-text comments
are dropped, and everything that affects how pixels decode -- compressed data,
quantisation/Huffman tables, palettes, ICC profiles, animation control -- is
copied byte for byte.  The only thing we *add* is a minimal orientation tag when
the caller passes ``orientation != 1``, so that viewers keep showing the
original upright.

One module per container says what it keeps and why (``jpeg``, ``png``, ``gif``,
``webp``, ``isobmff`` for AVIF/HEIF); ``dispatch`` picks one by format.

``src`` is read from its current position, which is taken as the start of the
file.  JPEG, PNG and GIF are processed in one sequential pass; WebP and AVIF
need random access and spool a non-seekable ``src`` to a temporary file.
"""

from server.adapters.codecs.strip.dispatch import SUPPORTED_FORMATS, strip_metadata

__all__ = ["SUPPORTED_FORMATS", "strip_metadata"]
