"""Chevereto's text rules: stored names, titles, slugs, tags and display strings.

Each function reproduces one PHP helper named in docs/chevereto-compatibility.md so that the
strings a client sees match Chevereto's.  PHP runs its regular expressions
without the ``/u`` flag, so ``\\s`` and ``\\w`` mean ASCII classes there; the
patterns below use ``re.ASCII`` for the same reason.
"""

from __future__ import annotations

import html.entities
import re
import unicodedata
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import quote

# PHP's trim() default character list; str.strip() with no argument also eats
# Unicode spaces, which PHP keeps.
_PHP_TRIM = " \t\n\r\0\x0b"

NAME_MAX_LENGTH = 200
MIXED_BASE_MAX_LENGTH = 184
TITLE_MAX_LENGTH = 100
TITLE_TRUNCATE_AT = 28
TAG_MAX_LENGTH = 32

# --- file names (§5.3) --------------------------------------------------------------------

_VARIANT_SUFFIX = re.compile(r"\.(?:th|md|original|lg)\Z")
_ASCII_SPACE_RUN = re.compile(r"\s+", re.ASCII)
_NOT_NAME_CHAR = re.compile(r"[^.\w-]", re.ASCII)

# Latin letters that NFKD leaves whole; Chevereto's unaccent table maps them
# like this, so names built from them match its output.
_UNDECOMPOSABLE = str.maketrans(
    "ßæÆœŒøØđĐłŁħĦ\N{LATIN SMALL LETTER DOTLESS I}ŋŊŧŦƒĸ",
    "saAoOoOdDlLhHinNtTfk",
)


def _basename(path: str) -> str:
    """Last path segment, splitting on ``\\`` too.

    PHP's multipart parser already cuts client file names at either
    separator, so a Windows-style name must lose its folders here as well.
    """
    return re.split(r"[/\\]", path.rstrip("/\\"))[-1]


def _without_extension(name: str) -> str:
    """Drop the text from the last dot on, as PHP ``pathinfo`` + ``str_replace_last`` do.

    Unlike ``os.path.splitext``, a leading-dot name such as ``.bashrc`` is all
    extension and leaves ``""``.
    """
    dot = name.rfind(".")
    return name if dot < 0 else name[:dot]


def unaccent(text: str) -> str:
    """Latin letters without their diacritics (``é`` → ``e``); other scripts untouched."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_UNDECOMPOSABLE))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _client_base(client_filename: str, extension: str | None) -> str:
    name = _without_extension(_basename(client_filename)).lstrip(".")
    # Upload::exec drops a second copy of the stored extension ("a.jpg.jpg").
    if extension and "." in name and name.rsplit(".", 1)[1].lower() == extension.lower():
        name = _without_extension(name)
    # Variant markers would collide with the .th/.md files Chevereto writes next to the original.
    return _VARIANT_SUFFIX.sub("", name, count=1)


def stored_name_base(client_filename: str, *, extension: str | None = None) -> str:
    """The ``original`` naming of §5.3, without the extension; ``""`` when nothing usable is left.

    ``extension`` is the final stored extension: a repeated copy of it at the
    end of the client name is removed as Chevereto does.  The caller
    substitutes 32 random hex characters for an empty result.
    """
    base = unaccent(_client_base(client_filename, extension))
    base = _ASCII_SPACE_RUN.sub("-", base).strip("-")
    # Chevereto trims dashes before filtering, so "日-x" keeps its leading dash.
    base = _NOT_NAME_CHAR.sub("", base)
    return base[:NAME_MAX_LENGTH]


def mixed_name(base: str, suffix_hex: str) -> str:
    """The ``mixed`` naming: ``base`` cut to 184 characters, then ``suffix_hex`` (16 hex)."""
    return base[:MIXED_BASE_MAX_LENGTH] + suffix_hex


# --- titles and slugs (§4, §5.2) ----------------------------------------------------------

_TITLE_SEPARATORS = re.compile(r"[-_\s]+", re.ASCII)
_SLUG_REMOVED = re.compile(r"[\\/~&!'\"?]+")
_SLUG_SEPARATORS = re.compile(r"[\s-]+", re.ASCII)


def title_from_filename(filename: str) -> str:
    """Fallback title: the base name with dash, underscore and space runs as one space."""
    base = _without_extension(_basename(filename))
    return _TITLE_SEPARATORS.sub(" ", base).strip(_PHP_TRIM)


def truncate_title(title: str) -> str:
    """At most 100 characters (code points, like ``mb_substr``)."""
    return title[:TITLE_MAX_LENGTH]


def title_truncated(title: str) -> str:
    """``truncate(title, 28)``: 25 characters, trimmed, plus ``...`` when longer than 28."""
    if len(title) <= TITLE_TRUNCATE_AT:
        return title
    return title[: TITLE_TRUNCATE_AT - 3].strip(_PHP_TRIM) + "..."


# C isspace() in the "C" locale.  At the end of the string PHP peeks at the NUL
# terminator, not a space, so a trailing "<" still opens a tag.
_C_SPACES = frozenset(" \t\n\v\f\r")


def _strip_tags(text: str) -> str:
    """PHP ``strip_tags`` for text whose quotes, ``!`` and ``?`` are already gone.

    With those characters removed, PHP's state machine reduces to: ``<`` opens
    a tag unless whitespace follows, nested ``<`` deepen it, ``>`` closes one
    level, and an unclosed tag swallows the rest of the string.
    """
    out: list[str] = []
    depth = 0
    for position, char in enumerate(text):
        if depth:
            depth += {"<": 1, ">": -1}.get(char, 0)
        elif char == "<" and text[position + 1 : position + 2] not in _C_SPACES:
            depth = 1
        else:
            out.append(char)
    return "".join(out)


def seo_slug(title: str) -> str:
    """``seoUrlfy``: the title as a URL path segment, case kept."""
    slug = _SLUG_REMOVED.sub("", title)
    slug = _SLUG_SEPARATORS.sub(" ", slug).strip(_PHP_TRIM).replace(" ", "-")
    # rawurlencode and quote(safe="") leave the same set unescaped: A-Za-z0-9 _ . - ~
    return quote(_strip_tags(slug), safe="")


# --- display strings (§5.2) ---------------------------------------------------------------

_BYTE_UNITS = ("KB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")


def _php_float_str(value: Decimal) -> str:
    """How PHP prints a float that has at most one decimal: no trailing ``.0``."""
    text = f"{value:f}"
    return text[:-2] if text.endswith(".0") else text


def size_formatted(n: int) -> str:
    """``format_bytes``: decimal units, one decimal, rounded half up as PHP ``round`` does."""
    if n < 1000:
        return f"{n} B"
    for power, unit in enumerate(_BYTE_UNITS, start=1):
        multiplier = 1000**power
        if n < multiplier * 1000:
            # Decimal keeps n / 10**k exact, so 1250000 rounds to 1.3 as in PHP;
            # Python's round() on the float would give 1.2.
            size = (Decimal(n) / multiplier).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
            return f"{_php_float_str(size)} {unit}"
    return ""


def duration_time(seconds: int) -> str:
    """``MM:SS`` with minutes uncapped (``75:05``); ``""`` when there is no duration."""
    if seconds <= 0:
        return ""
    minutes, rest = divmod(seconds, 60)
    return f"{minutes:02d}:{rest:02d}"


# Largest unit first.  time_elapsed_string works on calendar differences; from a
# bare number of seconds a month is taken as 30 days and a year as 365.
_ELAPSED_UNITS = (
    ("year", 365 * 86400),
    ("month", 30 * 86400),
    ("week", 7 * 86400),
    ("day", 86400),
    ("hour", 3600),
    ("minute", 60),
    ("second", 1),
)
_MONTHS_PER_YEAR = 12


def how_long_ago(delta_seconds: int) -> str:
    """``time_elapsed_string``: the largest whole unit, e.g. ``"3 hours ago"``.

    The sign is ignored because PHP's ``DateTime::diff`` reports magnitudes.
    """
    remaining = abs(delta_seconds)
    for unit, size in _ELAPSED_UNITS:
        count = remaining // size
        if unit == "month":
            # 360-364 days are less than a year; PHP would never say "12 months".
            count = min(count, _MONTHS_PER_YEAR - 1)
        if count > 0:
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    return "moments ago"


def format_db_datetime(dt: datetime) -> str:
    """PHP ``Y-m-d H:i:s`` in the datetime's own zone; the year keeps four digits."""
    return f"{dt.year:04d}-{dt:%m-%d %H:%M:%S}"


# --- tags (§4 Tag::parse) -----------------------------------------------------------------

_TAG_FORBIDDEN_CHARS = frozenset(",/#")
_TAG_FORBIDDEN_ALONE = frozenset("/\\,.?&=#%+@!*;: ")


def _is_valid_tag(tag: str) -> bool:
    if len(tag) > TAG_MAX_LENGTH:
        return False
    if _TAG_FORBIDDEN_CHARS.intersection(tag):
        return False
    # "...", "@@" and the like carry no meaning as a tag.
    return not (len(set(tag)) == 1 and tag[0] in _TAG_FORBIDDEN_ALONE)


def _tag_candidates(raw: str) -> list[str]:
    collapsed = _ASCII_SPACE_RUN.sub(" ", raw)
    trimmed = (part.strip(_PHP_TRIM) for part in collapsed.split(","))
    unique = dict.fromkeys(trimmed)
    # PHP array_filter also drops "0": it is falsy.
    return [tag for tag in unique if tag not in ("", "0")]


def parse_tags(raw: str, max_tags: int = 0) -> list[str]:
    """``Tag::parse``: invalid tags are skipped silently; ``max_tags > 0`` caps the valid ones."""
    tags: list[str] = []
    for tag in _tag_candidates(raw):
        if not _is_valid_tag(tag):
            continue
        if 0 < max_tags <= len(tags):
            break
        tags.append(tag)
    return tags


# --- escaping and cleaning ----------------------------------------------------------------

_ENTITY = re.compile(r"&(?:#([0-9]+)|#[xX]([0-9a-fA-F]+)|([A-Za-z0-9]+));")
_HTML_SPECIAL = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}
)
_MAX_CODE_POINT = 0x10FFFF


def _html5_numeric_allowed(code: int) -> bool:
    """Code points PHP accepts as an existing HTML5 numeric reference."""
    return (
        0x20 <= code <= 0x7E
        or code in (0x09, 0x0A, 0x0C, 0x0D)
        or 0xA0 <= code <= 0xD7FF
        or (
            0xE000 <= code <= _MAX_CODE_POINT
            and (code & 0xFFFF) < 0xFFFE  # the last two code points of every plane
            and not 0xFDD0 <= code <= 0xFDEF  # the non-character block
        )
    )


def _is_existing_entity(match: re.Match[str]) -> bool:
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        return f"{name};" in html.entities.html5
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    return _html5_numeric_allowed(code)


def html_escape(s: str) -> str:
    """``safe_html``: ``htmlspecialchars`` with ENT_QUOTES|ENT_HTML5 and ``double_encode=false``.

    Chevereto escapes titles and tag names with existing entities left alone,
    so ``&amp;`` stays ``&amp;`` while a bare ``&`` becomes ``&amp;``.
    """
    out: list[str] = []
    position = 0
    for match in _ENTITY.finditer(s):
        if _is_existing_entity(match):
            out.append(s[position : match.start()].translate(_HTML_SPECIAL))
            out.append(match.group())
            position = match.end()
    out.append(s[position:].translate(_HTML_SPECIAL))
    return "".join(out)


_EXIF_UNWANTED = re.compile(r"[\x00-\x1f\x80-\U0010ffff]")


def clean_exif_text(s: str) -> str:
    """EXIF title/description with control characters and everything non-ASCII removed.

    Chevereto strips bytes ``\\x00-\\x1F`` and ``\\x80-\\xFF`` from the UTF-8
    string; every byte of a multi-byte character is in that range, so in
    character terms only printable ASCII (and DEL) survives.
    """
    return _EXIF_UNWANTED.sub("", s)


def storable(text: str) -> str:
    """``text`` without NUL, the one character a PostgreSQL text column cannot hold."""
    return text.replace("\x00", "")
