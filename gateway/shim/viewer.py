"""HTML for the public viewer pages (``/image/...``, ``/clip/...``), the 404 page and the home page.

Pure functions: a Chevereto ``image`` object (docs/chevereto-compatibility.md §5.2) in, a
complete HTML5 document out. No I/O and no framework imports, so the shim decides status
codes and headers.

Every value taken from ``image`` is escaped, and every URL that lands in ``href``/``src``/``poster``
must be http(s) or root-relative; anything else becomes ``"#"``. The pages carry one inline
``<style>`` and (media page only) one inline ``<script>``; ``CONTENT_SECURITY_POLICY`` allows
exactly those two blocks by hash, so the shim can send it as a header.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["CONTENT_SECURITY_POLICY", "home_page", "media_page", "not_found_page"]

_PRODUCT = "Darkroom"

_CSS = """
:root{color-scheme:dark;--bg:#111214;--surface:#1a1b1e;--surface-2:#232428;--border:#34363b;
--text:#ece9e4;--muted:#aaa69f;--accent:#ff6b5b;--accent-ink:#1b0a08;--focus:#ffc46b}
*,*::before,*::after{box-sizing:border-box}
[hidden]{display:none!important}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;min-height:100vh;display:flex;flex-direction:column;background:var(--bg);
color:var(--text);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,
sans-serif}
a{color:var(--accent);text-underline-offset:.15em}
a:hover{text-decoration-thickness:2px}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
code,pre,textarea{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",
monospace}
.skip{position:absolute;left:.75rem;top:-4rem;z-index:10;padding:.5rem .9rem;border-radius:.4rem;
background:var(--focus);color:#111;font-weight:700}
.skip:focus{top:.75rem}
.topbar{display:flex;align-items:center;justify-content:space-between;gap:1rem;
padding:.75rem 1.25rem;background:#0b0b0c;border-bottom:1px solid var(--border)}
.brand{display:inline-flex;align-items:center;gap:.55rem;color:var(--text);font-weight:700;
font-size:1.05rem;letter-spacing:.05em;text-decoration:none}
.brand::before{content:"";width:.7rem;height:.7rem;border-radius:50%;background:var(--accent);
box-shadow:0 0 .7rem var(--accent)}
.topbar nav a{color:var(--muted);text-decoration:none;padding:.25rem .4rem;border-radius:.3rem}
.topbar nav a:hover{color:var(--text)}
main{flex:1;width:100%;max-width:92rem;margin:0 auto;padding:1.25rem}
main:focus{outline:none}
.viewer{display:grid;gap:1.25rem;grid-template-columns:minmax(0,1fr)}
@media (min-width:62rem){.viewer{grid-template-columns:minmax(0,1fr) 25rem;align-items:start}}
.stage{margin:0;display:flex;align-items:center;justify-content:center;min-height:14rem;
padding:1rem;background:#08080a;border:1px solid var(--border);border-radius:.75rem}
.stage a{display:block;line-height:0;border-radius:.3rem}
.stage img,.stage video{display:block;max-width:100%;height:auto;max-height:80vh;
object-fit:contain;border-radius:.3rem;background:#000}
.stage .placeholder{color:var(--muted);text-align:center;line-height:1.5}
.panel{background:var(--surface);border:1px solid var(--border);border-radius:.75rem;
padding:1.25rem}
h1{font-size:1.45rem;line-height:1.25;margin:0 0 .75rem;overflow-wrap:anywhere}
h2{font-size:.8rem;font-weight:700;text-transform:uppercase;letter-spacing:.09em;
color:var(--muted);margin:1.5rem 0 .6rem}
.desc{white-space:pre-line;overflow-wrap:anywhere;margin:0 0 1rem}
.badges,.tags{display:flex;flex-wrap:wrap;gap:.4rem;margin:0 0 1rem;padding:0;list-style:none}
.badge{font-size:.75rem;font-weight:700;letter-spacing:.06em;text-transform:uppercase;
padding:.1rem .55rem;border-radius:999px;background:var(--surface-2);border:1px solid var(--border)}
.badge abbr{text-decoration:none}
.badge-nsfw{background:#8f1d14;border-color:#c0392b;color:#fff}
.facts{display:grid;grid-template-columns:auto minmax(0,1fr);gap:.35rem 1rem;margin:0}
.facts dt{color:var(--muted)}
.facts dd{margin:0;overflow-wrap:anywhere}
.facts .ago{color:var(--muted)}
.tags a,.tags span{display:inline-block;padding:.2rem .65rem;border-radius:999px;font-size:.875rem;
background:var(--surface-2);border:1px solid var(--border);color:var(--text);text-decoration:none}
.tags a:hover{border-color:var(--accent)}
.button{display:inline-block;padding:.6rem 1.1rem;border:0;border-radius:.5rem;cursor:pointer;
font:inherit;font-weight:700;background:var(--accent);color:var(--accent-ink);text-decoration:none}
.button:hover{filter:brightness(1.08)}
.actions{margin:1.25rem 0 0}
.share{display:grid;gap:.8rem}
.share label{display:block;font-size:.875rem;color:var(--muted);margin-bottom:.25rem}
.field{display:flex;gap:.5rem;align-items:stretch}
.field textarea{flex:1;min-width:0;min-height:2.6rem;resize:vertical;padding:.45rem .6rem;
border-radius:.4rem;border:1px solid var(--border);background:#0d0d0f;color:var(--text);
font-size:.8125rem;line-height:1.4;overflow-wrap:anywhere}
.copy{padding:0 .85rem;border-radius:.4rem;border:1px solid var(--border);cursor:pointer;
font:inherit;font-size:.875rem;background:var(--surface-2);color:var(--text)}
.copy:hover{border-color:var(--accent)}
.status{min-height:1.5em;margin:.6rem 0 0;color:var(--muted);font-size:.875rem}
.notice{max-width:36rem;margin:12vh auto;text-align:center}
.notice p{color:var(--muted)}
.home{max-width:46rem;margin:4vh auto}
.home h1{font-size:2.2rem}
.lead{font-size:1.15rem;color:var(--muted)}
pre{margin:0 0 1rem;padding:1rem;overflow-x:auto;background:#0d0d0f;border:1px solid var(--border);
border-radius:.5rem;line-height:1.45}
:not(pre)>code{padding:.05rem .3rem;border-radius:.25rem;background:var(--surface-2)}
.footer{padding:1rem 1.25rem;border-top:1px solid var(--border);color:var(--muted);
font-size:.875rem;text-align:center}
.footer p{margin:0}
.footer a{color:var(--muted)}
.vh{position:absolute!important;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;
clip:rect(0,0,0,0);white-space:nowrap;border:0}
"""

# Progressive enhancement: the Copy buttons ship ``hidden`` and only this script reveals them, so
# without JS the page shows plain read-only fields that can be selected by hand.
_COPY_JS = """
(function () {
  var status = document.getElementById("copy-status");
  function say(text) {
    if (!status) { return; }
    status.textContent = "";
    window.setTimeout(function () { status.textContent = text; }, 50);
  }
  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) { return; }
    var label = button.getAttribute("data-label") || "Code";
    button.hidden = false;
    field.addEventListener("focus", function () { field.select(); });
    function fallback() {
      field.focus();
      field.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      say(ok ? label + " copied." : "Press Ctrl+C to copy the selected " + label + ".");
    }
    button.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(function () {
          say(label + " copied.");
        }, fallback);
      } else {
        fallback();
      }
    });
  });
})();
"""


def _csp_hash(block: str) -> str:
    digest = hashlib.sha256(block.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


# Media may live on a CDN (Chevereto's URL_APP_PUBLIC_STATIC), hence http:/https: for img/media.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; "
    "img-src 'self' http: https:; "
    "media-src 'self' http: https:; "
    f"style-src {_csp_hash(_CSS)}; "
    f"script-src {_csp_hash(_COPY_JS)}; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

_DATE_GMT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


# --- value helpers ------------------------------------------------------------------------------


def _esc(value: object) -> str:
    return html.escape(_text(value), quote=True)


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


def _size_attrs(width: object, height: object) -> str:
    w, h = _positive_int(width), _positive_int(height)
    if w is None or h is None:
        return ""
    return f' width="{w}" height="{h}"'


# --- page chrome --------------------------------------------------------------------------------


def _page(
    *,
    doc_title: str,
    main: str,
    main_class: str = "",
    head_extra: str = "",
    script: str = "",
) -> str:
    """The shared document: head, header bar, ``<main>`` around ``main``, footer.

    ``doc_title`` is plain text (escaped here); ``main`` and ``head_extra`` are trusted HTML.
    """
    script_block = f"<script>{script}</script>\n" if script else ""
    class_attr = f' class="{main_class}"' if main_class else ""
    return (
        "<!doctype html>\n"
        '<html lang="en">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="dark">\n'
        '<meta name="theme-color" content="#0b0b0c">\n'
        f"<title>{html.escape(doc_title, quote=True)}</title>\n"
        f"{head_extra}"
        f"<style>{_CSS}</style>\n"
        "</head>\n"
        "<body>\n"
        '<a class="skip" href="#main">Skip to content</a>\n'
        '<header class="topbar">\n'
        f'<a class="brand" href="/">{_PRODUCT}</a>\n'
        '<nav aria-label="Site"><a href="/v1/">API</a></nav>\n'
        "</header>\n"
        f'<main id="main"{class_attr} tabindex="-1">\n{main}</main>\n'
        '<footer class="footer">\n'
        f'<p>{_PRODUCT} · self-hosted media · <a href="/v1/">JSON API</a></p>\n'
        "</footer>\n"
        f"{script_block}"
        "</body>\n"
        "</html>\n"
    )


# --- media page ---------------------------------------------------------------------------------


def _md_alt(text: str) -> str:
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def _md_url(url: str) -> str:
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def _share_codes(image: Mapping[str, Any], title: str) -> list[tuple[str, str, str]]:
    """``(id, label, code)`` for the eight Chevereto embed codes, as plain (unescaped) text."""
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

    md_image = f"![{_md_alt(title)}]({_md_url(still)})"
    return [
        ("share-direct", "Direct link", url),
        ("share-viewer", "Viewer link", viewer),
        ("share-html", "HTML", html_code(still)),
        ("share-html-thumb", "HTML thumbnail", html_code(thumb)),
        ("share-bbcode", "BBCode", f"[img]{still}[/img]"),
        ("share-bbcode-linked", "BBCode linked", f"[url={viewer}][img]{still}[/img][/url]"),
        ("share-markdown", "Markdown", md_image),
        ("share-markdown-linked", "Markdown linked", f"[{md_image}]({_md_url(viewer)})"),
    ]


def _stage(image: Mapping[str, Any], title: str, url: str | None) -> str:
    if url is None:
        return (
            '<figure class="stage">'
            '<p class="placeholder">A preview of this file isn\'t available.</p>'
            "</figure>\n"
        )
    src = _esc(url)
    size = _size_attrs(image.get("width"), image.get("height"))
    if _text(image.get("type")) != "video":
        return (
            f'<figure class="stage"><a href="{src}" title="Open the original file">'
            f'<img src="{src}" alt="{_esc(title)}"{size}></a></figure>\n'
        )
    poster = _url(image.get("url_frame")) or _url(image.get("display_url"))
    poster_attr = f' poster="{_esc(poster)}"' if poster and poster != url else ""
    mime = _text(image.get("mime")).strip()
    sources = f'<source src="{src}" type="{_esc(mime)}">' if mime else f'<source src="{src}">'
    if mime.lower() == "video/quicktime":
        # Browsers refuse that declared type although most .mov files are playable H.264:
        # an untyped second source lets them sniff the file instead.
        sources += f'<source src="{src}">'
    return (
        f'<figure class="stage"><video controls preload="metadata"{poster_attr}{size}'
        f' aria-label="{_esc(title)}">{sources}'
        f'<p>Your browser can\'t play this video. <a href="{src}">Download the video</a>.</p>'
        "</video></figure>\n"
    )


def _facts(image: Mapping[str, Any]) -> str:
    rows: list[tuple[str, str]] = []
    w, h = _positive_int(image.get("width")), _positive_int(image.get("height"))
    if w is not None and h is not None:
        rows.append(("Dimensions", f"{w} \u00d7 {h}"))
    if _text(image.get("type")) == "video" and _text(image.get("duration_time")).strip():
        rows.append(("Duration", _esc(image.get("duration_time"))))
    if _text(image.get("size_formatted")).strip():
        rows.append(("Size", _esc(image.get("size_formatted"))))
    extension = _text(image.get("extension")).strip()
    if extension:
        rows.append(("Format", _esc(extension.upper())))
    date_gmt = _text(image.get("date_gmt")).strip()
    ago = _text(image.get("how_long_ago")).strip()
    if date_gmt:
        shown = _esc(date_gmt + " UTC")
        if _DATE_GMT.fullmatch(date_gmt):
            iso = date_gmt.replace(" ", "T") + "Z"
            shown = f'<time datetime="{iso}">{shown}</time>'
        if ago:
            shown += f' <span class="ago">({_esc(ago)})</span>'
        rows.append(("Uploaded", shown))
    elif ago:
        rows.append(("Uploaded", _esc(ago)))
    if not rows:
        return ""
    body = "".join(f"<dt>{term}</dt><dd>{value}</dd>" for term, value in rows)
    return f'<h2>Details</h2>\n<dl class="facts">{body}</dl>\n'


def _tags(image: Mapping[str, Any]) -> str:
    raw = image.get("tags")
    items: list[str] = []
    for tag in raw if isinstance(raw, list) else []:
        if isinstance(tag, Mapping):
            name, link = _text(tag.get("name")).strip(), _url(tag.get("url"))
        else:
            name, link = _text(tag).strip(), None
        if not name:
            continue
        if link:
            items.append(f'<li><a href="{_esc(link)}" rel="tag">{_esc(name)}</a></li>')
        else:
            items.append(f"<li><span>{_esc(name)}</span></li>")
    if not items:
        return ""
    return f'<h2>Tags</h2>\n<ul class="tags">{"".join(items)}</ul>\n'


def _badges(image: Mapping[str, Any]) -> str:
    badges: list[str] = []
    if _flag(image.get("nsfw")):
        badges.append(
            '<li class="badge badge-nsfw"><abbr title="Not safe for work">NSFW</abbr></li>'
        )
    if _flag(image.get("is_animated")):
        badges.append('<li class="badge">Animated</li>')
    if not badges:
        return ""
    return f'<ul class="badges" aria-label="Labels">{"".join(badges)}</ul>\n'


def _share(image: Mapping[str, Any], title: str) -> str:
    rows = []
    for field_id, label, code in _share_codes(image, title):
        rows.append(
            '<div class="share-row">'
            f'<label for="{field_id}">{label}</label>'
            '<div class="field">'
            f'<textarea id="{field_id}" rows="2" readonly spellcheck="false" autocomplete="off">'
            f"{html.escape(code, quote=True)}</textarea>"
            f'<button type="button" class="copy" data-copy="{field_id}" data-label="{label}"'
            f' hidden>Copy<span class="vh"> {label}</span></button>'
            "</div></div>"
        )
    return (
        '<h2 id="share-heading">Share</h2>\n'
        f'<div class="share" role="group" aria-labelledby="share-heading">{"".join(rows)}</div>\n'
        '<p id="copy-status" class="status" role="status" aria-live="polite"></p>\n'
    )


def _social_meta(image: Mapping[str, Any], title: str, is_video: bool) -> str:
    tags = [
        f'<meta property="og:title" content="{_esc(title)}">',
        f'<meta property="og:type" content="{"video.other" if is_video else "website"}">',
        f'<meta property="og:site_name" content="{_PRODUCT}">',
    ]
    viewer = _url(image.get("url_viewer"))
    if viewer:
        tags.insert(0, f'<link rel="canonical" href="{_esc(viewer)}">')
        tags.append(f'<meta property="og:url" content="{_esc(viewer)}">')
    description = _text(image.get("description")).strip()
    if description:
        tags.append(f'<meta name="description" content="{_esc(description[:300])}">')
    # No preview image for NSFW files, so chat apps don't unfurl them.
    preview = None if _flag(image.get("nsfw")) else _url(image.get("display_url"))
    if preview:
        tags.append(f'<meta property="og:image" content="{_esc(preview)}">')
        tags.append('<meta name="twitter:card" content="summary_large_image">')
    return "".join(f"{tag}\n" for tag in tags)


def media_page(image: Mapping[str, Any], *, deleted_notice: bool = False) -> str:
    """The public viewer page for one image or video (Chevereto's ``image`` object).

    ``deleted_notice`` exists for symmetry with ``not_found_page`` and is ignored: an existing
    file has nothing to announce.
    """
    del deleted_notice
    title = _title(image)
    is_video = _text(image.get("type")) == "video"
    url = _url(image.get("url"))

    description = _text(image.get("description")).strip()
    panel = [
        f'<h1 id="media-title">{_esc(title)}</h1>\n',
        _badges(image),
        f'<p class="desc">{_esc(description)}</p>\n' if description else "",
        _facts(image),
        _tags(image),
    ]
    if url is not None:
        filename = _text(image.get("filename")).strip()
        download = f'download="{_esc(filename)}"' if filename else "download"
        panel.append(
            f'<p class="actions"><a class="button" href="{_esc(url)}" {download}>'
            "Download original</a></p>\n"
        )
        panel.append(_share(image, title))

    main = (
        _stage(image, title, url)
        + '<section class="panel" aria-labelledby="media-title">\n'
        + "".join(panel)
        + "</section>\n"
    )
    return _page(
        doc_title=f"{title} — {_PRODUCT}",
        main=main,
        main_class="viewer",
        head_extra=_social_meta(image, title, is_video),
        script=_COPY_JS if url is not None else "",
    )


# --- other pages --------------------------------------------------------------------------------


def not_found_page(*, deleted: bool = False) -> str:
    """The page for a missing file, or (``deleted=True``) one that its owner deleted."""
    if deleted:
        heading = "The file has been deleted"
        detail = "It was removed and is no longer available."
    else:
        heading = "That file doesn't exist"
        detail = "It may have expired, or the link may be incomplete."
    main = (
        '<div class="notice">\n'
        f"<h1>{html.escape(heading, quote=True)}</h1>\n"
        f"<p>{html.escape(detail, quote=True)}</p>\n"
        f'<p class="actions"><a class="button" href="/">Go to the {_PRODUCT} home page</a></p>\n'
        "</div>\n"
    )
    return _page(
        doc_title=f"{heading} — {_PRODUCT}",
        main=main,
        head_extra='<meta name="robots" content="noindex">\n',
    )


def home_page(*, api_path: str = "/api/1/upload") -> str:
    """A small landing page: what Darkroom is and how to upload with curl.

    ``api_path`` is shown as the upload endpoint; pass an absolute URL if the caller knows the host.
    """
    command = f'curl -F source=@photo.jpg -H "X-API-Key: $KEY" {api_path}'
    relative_note = (
        "<p>Put this server's address in front of the path, for example "
        f"<code>https://media.example.com{html.escape(api_path, quote=True)}</code>.</p>\n"
        if api_path.startswith("/")
        else ""
    )
    main = (
        '<div class="home">\n'
        f"<h1>{_PRODUCT}</h1>\n"
        '<p class="lead">A self-hosted home for your images and videos: upload a file, '
        "get back links you can share.</p>\n"
        "<h2>Upload with curl</h2>\n"
        f"<pre><code>{html.escape(command, quote=True)}</code></pre>\n"
        f"{relative_note}"
        "<p>The endpoint speaks Chevereto's API V1.1, so existing uploaders work unchanged. "
        "Add <code>-F format=txt</code> to get back just the link.</p>\n"
        "<h2>JSON API</h2>\n"
        '<p>A JSON API is available under <a href="/v1/"><code>/v1/</code></a>.</p>\n'
        "</div>\n"
    )
    return _page(doc_title=_PRODUCT, main=main)
