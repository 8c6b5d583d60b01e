"""HTML documents from templates, under a Content-Security-Policy allowing exactly their CSS/JS.

Every page is one self-contained response: ``static/pages.css`` and ``static/copy-buttons.js``
are inlined into it rather than served, so a page needs no second request and no asset route,
and the policy allows the two blocks by hash. The hashes are taken from the files when this
module loads, so editing a file can never leave the policy behind.
"""

from __future__ import annotations

import base64
import hashlib
from importlib import resources
from typing import Any

import jinja2

__all__ = ["CONTENT_SECURITY_POLICY", "COPY_JS", "PAGE_CSS", "PRODUCT", "render"]

PRODUCT = "Darkroom"


def _inline_asset(name: str) -> str:
    # Bytes, not text mode: newline translation would make the page differ from the file.
    text = (resources.files("gateway.shim") / "static" / name).read_bytes().decode("utf-8")
    # A closing tag inside a raw-text block ends it early and turns the rest into markup.
    if "</style" in text.lower() or "</script" in text.lower():
        raise ValueError(f"static/{name} contains a closing style/script tag")
    return text


PAGE_CSS = _inline_asset("pages.css")
COPY_JS = _inline_asset("copy-buttons.js")


def csp_hash(block: str) -> str:
    """The CSP source that allows an inline block with exactly this content."""
    digest = hashlib.sha256(block.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


# Media may live on a CDN (Chevereto's URL_APP_PUBLIC_STATIC), hence http:/https: for img/media.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; "
    "img-src 'self' http: https:; "
    "media-src 'self' http: https:; "
    f"style-src {csp_hash(PAGE_CSS)}; "
    f"script-src {csp_hash(COPY_JS)}; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("gateway.shim", "templates"),
    autoescape=True,
    # A misspelt value fails the render instead of quietly printing nothing.
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_ENVIRONMENT.globals.update(product=PRODUCT, page_css=PAGE_CSS, copy_js=COPY_JS)


def render(template: str, **values: Any) -> str:
    """``templates/<template>`` rendered with ``values``; every value is escaped unless marked."""
    return _ENVIRONMENT.get_template(template).render(**values)
