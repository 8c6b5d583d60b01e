"""Templates, inline assets and the CSP of the shim's pages (gateway/shim/rendering.py)."""

from __future__ import annotations

import base64
import hashlib
import re
from importlib import resources

import jinja2
import pytest

from gateway.shim.rendering import CONTENT_SECURITY_POLICY, render
from gateway.shim.viewer import home_page, media_page, not_found_page
from tests.unit.gateway.shim.html_tree import parse
from tests.unit.gateway.shim.image_objects import image_object, video_object

STATIC = resources.files("gateway.shim") / "static"


def shipped(name: str) -> str:
    return (STATIC / name).read_bytes().decode("utf-8")


def sources(directive: str) -> list[str]:
    found = re.search(rf"(?:^|; ){directive} ([^;]*)", CONTENT_SECURITY_POLICY)
    assert found is not None, directive
    return found.group(1).split()


def sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_csp_hashes_are_those_of_the_shipped_files() -> None:
    assert sources("style-src") == [sha256_source(shipped("pages.css"))]
    assert sources("script-src") == [sha256_source(shipped("copy-buttons.js"))]


def test_every_shipped_asset_is_allowed_by_the_csp() -> None:
    allowed = set(sources("style-src") + sources("script-src"))
    names = sorted(entry.name for entry in STATIC.iterdir())
    assert names == ["copy-buttons.js", "pages.css"]
    assert {sha256_source(shipped(name)) for name in names} == allowed


def test_pages_inline_the_shipped_files_byte_for_byte() -> None:
    css, js = shipped("pages.css"), shipped("copy-buttons.js")
    for document in (media_page(image_object()), media_page(video_object())):
        tree = parse(document)
        assert (tree.one("style").text, tree.one("script").text) == (css, js)
    for document in (not_found_page(), not_found_page(deleted=True), home_page()):
        assert parse(document).one("style").text == css


def test_the_csp_is_otherwise_unchanged() -> None:
    assert CONTENT_SECURITY_POLICY.startswith(
        "default-src 'none'; img-src 'self' http: https:; media-src 'self' http: https:; "
    )
    assert CONTENT_SECURITY_POLICY.endswith(
        "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY


def test_a_missing_value_fails_the_render() -> None:
    with pytest.raises(jinja2.UndefinedError):
        render("not_found.html")
    with pytest.raises(jinja2.UndefinedError):
        render("home.html")


def test_values_are_escaped() -> None:
    document = render("home.html", api_path="<b>&'\"")
    assert "&lt;b&gt;&amp;&#39;&#34;" in document
    assert "<b>" not in document
