"""What an upload's source is: a Chevereto ``source`` string read as URL or base64,
the switches that refuse a kind of source, and base64 decoded by Chevereto's rule.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import urlsplit

from server.domain import errors
from server.domain.upload import (
    Base64Source,
    FileSource,
    TextSource,
    UploadOptions,
    UploadSource,
    UrlSource,
)
from server.services.settings import UploadSettings

# A source once a text has been read as URL or base64: what the spool can write.
ClassifiedSource = FileSource | UrlSource | Base64Source

_IS_URL_SCHEMES = {
    "http", "https", "ftp", "ftps", "mailto", "news", "irc", "gopher", "nntp", "feed",
    "telnet", "mms", "rtsp", "svn", "tel", "fax", "xmpp",
}  # fmt: skip
_WHITESPACE = re.compile(r"\s+")
_B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def accepted_source(
    source: UploadSource | None, options: UploadOptions, settings: UploadSettings
) -> ClassifiedSource:
    """The source classified, or the Chevereto error for a missing or refused one."""
    if source is None:
        raise errors.EmptyUploadSource()
    if isinstance(source, TextSource):
        if not source.text:
            raise errors.EmptyUploadSource()
        source = (
            UrlSource(source.text) if is_chevereto_url(source.text) else Base64Source(source.text)
        )
    if isinstance(source, UrlSource) and not settings.enable_uploads_url:
        raise errors.UrlUploadDisabled()
    if isinstance(source, Base64Source) and options.http_method.upper() not in ("", "POST"):
        raise errors.Base64NotPosted()
    return source


def is_chevereto_url(text: str) -> bool:
    """``is_url``: ASCII only, a known scheme and a host."""
    if not text.isascii():
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme.lower() in _IS_URL_SCHEMES and bool(parts.netloc)


def decode_base64_strict(data: str) -> bytes:
    """Chevereto's check: whitespace removed, then it must round-trip exactly."""
    compact = _WHITESPACE.sub("", data)
    if not compact:
        raise errors.EmptySource()
    try:
        decoded = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise errors.InvalidBase64() from exc
    if not _is_canonical(compact, len(decoded)):
        raise errors.InvalidBase64()
    if not decoded:
        raise errors.EmptySource()
    return decoded


def _is_canonical(compact: str, size: int) -> bool:
    """Whether ``compact`` is exactly what b64encode gives for ``size`` bytes.

    The strict decode has already refused other characters and misplaced padding,
    so only the length, the padding count and the unused low bits of the last
    sextet before the padding can still differ; re-encoding a payload of many
    megabytes to learn that would cost two more copies of it.
    """
    padding = -size % 3
    if len(compact) != 4 * -(-size // 3) or not compact.endswith("=" * padding):
        return False
    if not padding:
        return True
    unused_bits = 2 * padding
    last = _B64_ALPHABET.find(compact[-padding - 1])
    return last >= 0 and last & ((1 << unused_bits) - 1) == 0
