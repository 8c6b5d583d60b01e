"""The public viewer pages (``/image/...``, ``/clip/...``), the 404 page and the home page.

A Chevereto ``image`` object (docs/chevereto-compatibility.md §5.2) in, a complete HTML5 document
out: ``media_view`` turns the object into the values the page shows, and ``templates/`` lays them
out. No I/O and no framework imports, so the shim decides status codes and headers.

The templates escape every value. Every URL that reaches ``href``/``src``/``poster`` must be
http(s) or root-relative; anything else becomes ``"#"`` or drops the element that needed it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.shim.rendering import CONTENT_SECURITY_POLICY, render

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "MediaView",
    "home_page",
    "media_page",
    "media_view",
    "not_found_page",
]

_DATE_GMT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


# --- values of the image object -----------------------------------------------------------------


def _text(value: object) -> str:
    """A field as display text: ``None`` (and any missing field) is ``""``."""
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _url(value: object) -> str | None:
    """The URL if it is http(s) or root-relative, else ``None`` (missing, ``javascript:``, ...)."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    if not url or any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return None
    if url[:8].lower() == "https://" or url[:7].lower() == "http://":
        return url
    # Root-relative only: "//host" and "/\host" are scheme-relative in browsers.
    if url.startswith("/") and not url.startswith(("//", "/\\")):
        return url
    return None


def _href(value: object) -> str:
    return _url(value) or "#"


def _positive_int(value: object) -> int | None:
    # Chevereto sends some dimensions as strings ("500", §5.2), so accept digit strings too.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
        return number if number > 0 else None
    return None


def _flag(value: object) -> bool:
    return value is True or value == 1 or value == "1"


def _sub_url(image: Mapping[str, Any], key: str) -> str | None:
    sub = image.get(key)
    return _url(sub.get("url")) if isinstance(sub, Mapping) else None


def _title(image: Mapping[str, Any]) -> str:
    for key in ("title", "display_title", "original_filename", "filename"):
        text = _text(image.get(key)).strip()
        if text:
            return text
    return "Untitled"


# --- the view model -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    """One row of the details list; with ``datetime`` the text is shown as a ``<time>``."""

    term: str
    text: str
    datetime: str = ""
    ago: str = ""


@dataclass(frozen=True)
class Tag:
    name: str
    url: str | None


@dataclass(frozen=True)
class ShareCode:
    """One embed code, as plain text: the template escapes it into its ``<textarea>``."""

    field_id: str
    label: str
    code: str


@dataclass(frozen=True)
class MediaView:
    """What the media page shows. ``url`` is ``None`` when the file's URL is unusable: the page
    then has a placeholder instead of the player, and no download link, share codes or script."""

    title: str
    is_video: bool
    url: str | None
    size: tuple[int, int] | None
    poster: str | None  # None also when the only still is the file itself
    source_types: tuple[str | None, ...]  # one <source> each; None: untyped, the browser sniffs
    canonical: str | None  # the viewer URL
    description: str
    meta_description: str
    preview: str | None
    nsfw: bool
    animated: bool
    facts: tuple[Fact, ...]
    tags: tuple[Tag, ...]
    download_name: str
    share_codes: tuple[ShareCode, ...]


def _md_alt(text: str) -> str:
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def _md_url(url: str) -> str:
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def _share_codes(image: Mapping[str, Any], title: str) -> tuple[ShareCode, ...]:
    """The eight Chevereto embed codes."""
    is_video = _text(image.get("type")) == "video"
    url = _href(image.get("url"))
    viewer = _href(image.get("url_viewer"))
    # Codes that need an <img> point at a still: the frame for videos, the file for images.
    still = (
        (_url(image.get("url_frame")) or _url(image.get("display_url")) or url) if is_video else url
    )
    thumb = _sub_url(image, "thumb") or (_url(image.get("display_url")) if is_video else None)
    thumb = thumb or still

    def attr(value: str) -> str:
        return html.escape(value, quote=True)

    def html_code(src: str) -> str:
        img = f'<img src="{attr(src)}" alt="{attr(title)}" border="0">'
        return f'<a href="{attr(viewer)}">{img}</a>'

    bb_image = f"[img]{still}[/img]"
    md_image = f"![{_md_alt(title)}]({_md_url(still)})"
    return (
        ShareCode("share-direct", "Direct link", url),
        ShareCode("share-viewer", "Viewer link", viewer),
        ShareCode("share-html", "HTML", html_code(still)),
        ShareCode("share-html-thumb", "HTML thumbnail", html_code(thumb)),
        ShareCode("share-bbcode", "BBCode", bb_image),
        ShareCode("share-bbcode-linked", "BBCode linked", f"[url={viewer}]{bb_image}[/url]"),
        ShareCode("share-markdown", "Markdown", md_image),
        ShareCode("share-markdown-linked", "Markdown linked", f"[{md_image}]({_md_url(viewer)})"),
    )


def _source_types(image: Mapping[str, Any]) -> tuple[str | None, ...]:
    mime = _text(image.get("mime")).strip()
    if mime.lower() == "video/quicktime":
        # Browsers refuse that declared type although most .mov files are playable H.264:
        # an untyped second source lets them sniff the file instead.
        return (mime, None)
    return (mime or None,)


def _facts(image: Mapping[str, Any], size: tuple[int, int] | None) -> tuple[Fact, ...]:
    facts: list[Fact] = []
    if size is not None:
        facts.append(Fact("Dimensions", f"{size[0]} \u00d7 {size[1]}"))
    duration = _text(image.get("duration_time"))
    if _text(image.get("type")) == "video" and duration.strip():
        facts.append(Fact("Duration", duration))
    size_formatted = _text(image.get("size_formatted"))
    if size_formatted.strip():
        facts.append(Fact("Size", size_formatted))
    extension = _text(image.get("extension")).strip()
    if extension:
        facts.append(Fact("Format", extension.upper()))
    date_gmt = _text(image.get("date_gmt")).strip()
    ago = _text(image.get("how_long_ago")).strip()
    if date_gmt:
        iso = date_gmt.replace(" ", "T") + "Z" if _DATE_GMT.fullmatch(date_gmt) else ""
        facts.append(Fact("Uploaded", date_gmt + " UTC", datetime=iso, ago=ago))
    elif ago:
        facts.append(Fact("Uploaded", ago))
    return tuple(facts)


def _tags(image: Mapping[str, Any]) -> tuple[Tag, ...]:
    raw = image.get("tags")
    tags: list[Tag] = []
    for tag in raw if isinstance(raw, list) else []:
        if isinstance(tag, Mapping):
            name, link = _text(tag.get("name")).strip(), _url(tag.get("url"))
        else:
            name, link = _text(tag).strip(), None
        if name:
            tags.append(Tag(name, link))
    return tuple(tags)


def media_view(image: Mapping[str, Any]) -> MediaView:
    """The values of the media page, taken from Chevereto's ``image`` object."""
    title = _title(image)
    url = _url(image.get("url"))
    width, height = _positive_int(image.get("width")), _positive_int(image.get("height"))
    size = (width, height) if width is not None and height is not None else None
    poster = _url(image.get("url_frame")) or _url(image.get("display_url"))
    description = _text(image.get("description")).strip()
    nsfw = _flag(image.get("nsfw"))
    return MediaView(
        title=title,
        is_video=_text(image.get("type")) == "video",
        url=url,
        size=size,
        poster=poster if poster != url else None,
        source_types=_source_types(image),
        canonical=_url(image.get("url_viewer")),
        description=description,
        meta_description=description[:300],
        # No preview image for NSFW files, so chat apps don't unfurl them.
        preview=None if nsfw else _url(image.get("display_url")),
        nsfw=nsfw,
        animated=_flag(image.get("is_animated")),
        facts=_facts(image, size),
        tags=_tags(image),
        download_name=_text(image.get("filename")).strip(),
        share_codes=_share_codes(image, title) if url is not None else (),
    )


# --- pages --------------------------------------------------------------------------------------


def media_page(image: Mapping[str, Any], *, deleted_notice: bool = False) -> str:
    """The public viewer page for one image or video (Chevereto's ``image`` object).

    ``deleted_notice`` exists for symmetry with ``not_found_page`` and is ignored: an existing
    file has nothing to announce.
    """
    del deleted_notice
    return render("media.html", media=media_view(image))


def not_found_page(*, deleted: bool = False) -> str:
    """The page for a missing file, or (``deleted=True``) one that its owner deleted."""
    return render("not_found.html", deleted=deleted)


def home_page(*, api_path: str = "/api/1/upload") -> str:
    """A small landing page: what Darkroom is and how to upload with curl.

    ``api_path`` is shown as the upload endpoint; pass an absolute URL if the caller knows the host.
    """
    return render("home.html", api_path=api_path)
