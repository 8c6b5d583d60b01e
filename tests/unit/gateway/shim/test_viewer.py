"""Viewer, 404 and home pages of the shim (gateway/shim/viewer.py)."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import pytest

from gateway.shim.viewer import CONTENT_SECURITY_POLICY, home_page, media_page, not_found_page
from tests.unit.gateway.shim.html_tree import facts, inside, page_text, parse, with_class
from tests.unit.gateway.shim.image_objects import image_object, video_object

# --- document shape -----------------------------------------------------------------------------


def test_media_page_is_a_complete_html5_document() -> None:
    document = media_page(image_object())
    assert document.startswith("<!doctype html>")
    tree = parse(document)
    assert [d.lower() for d in tree.decls] == ["doctype html"]
    assert tree.one("html").attrs["lang"] == "en"
    metas = tree.all("meta")
    assert any(m.attrs.get("charset") == "utf-8" for m in metas)
    assert any(
        m.attrs.get("name") == "viewport" and "width=device-width" in (m.attrs["content"] or "")
        for m in metas
    )
    assert tree.one("title").text == "Red fox at dawn — Darkroom"
    for landmark in ("header", "main", "footer"):
        tree.one(landmark)
    brand = tree.one("header").children[0]
    assert (brand.tag, brand.attr("href"), brand.text) == ("a", "/", "Darkroom")


def test_pages_use_no_external_assets() -> None:
    for document in (media_page(image_object()), not_found_page(), home_page()):
        tree = parse(document)
        assert all("src" not in s.attrs for s in tree.all("script"))
        assert all(link.attrs.get("rel") != "stylesheet" for link in tree.all("link"))
        assert len(tree.all("style")) == 1


def test_the_three_pages_share_one_chrome() -> None:
    def chrome(document: str) -> tuple[str, str, str]:
        head_end = document.index("<title>")
        return (
            document[:head_end],
            document[document.index("<style>") : document.index("<main")],
            document[document.index("</main>") : document.index("</footer>")],
        )

    pages = [media_page(image_object()), not_found_page(), not_found_page(deleted=True)]
    pages.append(home_page())
    assert len({chrome(p) for p in pages}) == 1


def test_content_security_policy_allows_exactly_the_inline_blocks() -> None:
    tree = parse(media_page(image_object()))
    for tag, directive in (("style", "style-src"), ("script", "script-src")):
        block = tree.one(tag).text
        digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY


def test_no_inline_style_attributes_or_event_handlers() -> None:
    for document in (media_page(image_object()), media_page(video_object()), home_page()):
        for element in parse(document).elements:
            assert "style" not in element.attrs
            assert not [a for a in element.attrs if a.startswith("on")]


# --- media --------------------------------------------------------------------------------------


def test_image_is_shown_full_size_inside_a_link_to_the_original() -> None:
    image = image_object()
    tree = parse(media_page(image))
    img = tree.one("img")
    assert img.attr("src") == image["url"]
    assert img.attr("alt") == "Red fox at dawn"
    assert (img.attr("width"), img.attr("height")) == ("4000", "3000")
    assert img.parent is not None and img.parent.tag == "a"
    assert img.parent.attr("href") == image["url"]
    assert tree.all("video") == []


def test_video_uses_a_video_element_with_the_frame_as_poster() -> None:
    video = video_object()
    tree = parse(media_page(video))
    player = tree.one("video")
    assert "controls" in player.attrs
    assert player.attr("preload") == "metadata"
    assert player.attr("poster") == video["url_frame"]
    assert (player.attr("width"), player.attr("height")) == ("496", "360")
    source = tree.one("source")
    assert source.parent is player
    assert (source.attr("src"), source.attr("type")) == (video["url"], "video/mp4")
    fallback = [a for a in tree.all("a") if a.parent and a.parent.parent is player]
    assert [a.attr("href") for a in fallback] == [video["url"]]
    assert tree.all("img") == []


def test_quicktime_video_gets_an_untyped_second_source() -> None:
    tree = parse(media_page(video_object(mime="video/quicktime", extension="mov")))
    sources = tree.all("source")
    assert [s.attrs.get("type") for s in sources] == ["video/quicktime", None]


def test_dimension_attributes_accept_digit_strings_and_drop_junk() -> None:
    img = parse(media_page(image_object(width="640", height="480"))).one("img")
    assert (img.attr("width"), img.attr("height")) == ("640", "480")
    img = parse(media_page(image_object(width="wide", height=0))).one("img")
    assert "width" not in img.attrs and "height" not in img.attrs


# --- details ------------------------------------------------------------------------------------


def test_details_panel_shows_the_facts() -> None:
    image = image_object()
    tree = parse(media_page(image))
    assert tree.one("h1").text == "Red fox at dawn"
    (description,) = with_class(tree, "p", "desc")
    assert description.text == "Taken from the hide.\nSecond line."
    assert facts(tree) == {
        "Dimensions": "4000 \u00d7 3000",
        "Size": "2.5 MB",
        "Format": "JPG",
        "Uploaded": "2024-10-10 19:58:00 UTC (2 hours ago)",
    }
    assert tree.one("time").attr("datetime") == "2024-10-10T19:58:00Z"
    assert "NSFW" not in page_text(tree)
    tags = {a.text: a.attr("href") for a in tree.all("a") if a.attrs.get("rel") == "tag"}
    assert tags == {t["name"]: t["url"] for t in image["tags"]}


def test_download_link_points_at_the_original() -> None:
    image = image_object()
    tree = parse(media_page(image))
    (download,) = [a for a in tree.all("a") if "download" in a.attrs]
    assert download.attr("href") == image["url"]
    assert download.text == "Download original"


def test_video_details_show_the_duration() -> None:
    details = facts(parse(media_page(video_object())))
    assert details["Duration"] == "01:13"
    assert details["Dimensions"] == "496 \u00d7 360"


def test_nsfw_badge_only_when_flagged() -> None:
    flagged = parse(media_page(image_object(nsfw=1)))
    assert "NSFW" in page_text(flagged)
    assert not [m for m in flagged.all("meta") if m.attrs.get("property") == "og:image"]
    plain = parse(media_page(image_object(nsfw=0)))
    assert "NSFW" not in page_text(plain)
    assert [m for m in plain.all("meta") if m.attrs.get("property") == "og:image"]


def test_deleted_notice_is_ignored_for_existing_media() -> None:
    assert media_page(image_object(), deleted_notice=True) == media_page(image_object())


# --- share codes --------------------------------------------------------------------------------


def test_share_codes_for_an_image() -> None:
    url = "http://localhost/images/2024/10/10/Red-fox.jpg"
    viewer = "http://localhost/image/Red-fox-at-dawn.Ab12"
    thumb = "http://localhost/images/2024/10/10/Red-fox.th.jpg"
    title = "Red fox at dawn"
    assert parse(media_page(image_object())).share_codes() == {
        "Direct link": url,
        "Viewer link": viewer,
        "HTML": f'<a href="{viewer}"><img src="{url}" alt="{title}" border="0"></a>',
        "HTML thumbnail": f'<a href="{viewer}"><img src="{thumb}" alt="{title}" border="0"></a>',
        "BBCode": f"[img]{url}[/img]",
        "BBCode linked": f"[url={viewer}][img]{url}[/img][/url]",
        "Markdown": f"![{title}]({url})",
        "Markdown linked": f"[![{title}]({url})]({viewer})",
    }


def test_share_codes_for_a_video_use_the_frame_for_images() -> None:
    video = video_object()
    url, frame, viewer = video["url"], video["url_frame"], video["url_viewer"]
    thumb, title = video["thumb"]["url"], video["title"]
    assert parse(media_page(video)).share_codes() == {
        "Direct link": url,
        "Viewer link": viewer,
        "HTML": f'<a href="{viewer}"><img src="{frame}" alt="{title}" border="0"></a>',
        "HTML thumbnail": f'<a href="{viewer}"><img src="{thumb}" alt="{title}" border="0"></a>',
        "BBCode": f"[img]{frame}[/img]",
        "BBCode linked": f"[url={viewer}][img]{frame}[/img][/url]",
        "Markdown": f"![{title}]({frame})",
        "Markdown linked": f"[![{title}]({frame})]({viewer})",
    }


def test_every_form_control_is_labelled_and_copy_buttons_wait_for_js() -> None:
    tree = parse(media_page(image_object()))
    labelled = {label.attr("for") for label in tree.all("label")}
    textareas = tree.all("textarea")
    assert len(textareas) == 8
    for textarea in textareas:
        assert textarea.attr("id") in labelled
        assert "readonly" in textarea.attrs
    for button in tree.all("button"):
        assert "hidden" in button.attrs
        assert button.attr("type") == "button"
        assert button.attr("data-copy") in labelled
        assert button.text.startswith("Copy ") and len(button.text) > len("Copy ")
    status = tree.by_id("copy-status")
    assert status.attr("aria-live") == "polite"


def test_embed_codes_escape_the_title_for_their_own_syntax() -> None:
    codes = parse(media_page(image_object(title='Say "cheese" [2]'))).share_codes()
    assert 'alt="Say &quot;cheese&quot; [2]"' in codes["HTML"]
    assert codes["Markdown"].startswith(r'![Say "cheese" \[2\]](')


# --- hostile input ------------------------------------------------------------------------------

PAYLOADS = [
    '"><script>alert(1)</script>',
    "</textarea><img src=x onerror=alert(1)>",
    "</title><script>alert(1)</script>",
    "'><svg onload=alert(1)>",
]


def _hostile_variants(payload: str) -> list[dict[str, Any]]:
    return [
        image_object(title=payload),
        image_object(title=None, display_title=payload),
        image_object(description=payload),
        image_object(tags=[{"name": payload, "url": "http://localhost/t"}, payload]),
        image_object(size_formatted=payload, how_long_ago=payload, date_gmt=payload),
        image_object(extension=payload, filename=payload, mime=payload),
        video_object(title=payload, duration_time=payload, mime=payload),
    ]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_text_renders_inert(payload: str) -> None:
    expected_script = parse(media_page(image_object())).one("script").text
    for image in _hostile_variants(payload):
        document = media_page(image)
        tree = parse(document)
        scripts = tree.all("script")
        assert [s.text for s in scripts] == [expected_script]
        assert "src" not in scripts[0].attrs
        assert tree.all("svg") == []
        for element in tree.elements:
            assert not [a for a in element.attrs if a.startswith("on")], element
        assert "onerror" not in {name for e in tree.elements for name in e.attrs}
        assert [i.attrs.get("src") for i in tree.all("img") if i.attrs.get("src") == "x"] == []
        assert len(tree.all("textarea")) == 8
        assert len(tree.all("title")) == 1


def test_hostile_title_round_trips_as_text() -> None:
    payload = "</textarea><img src=x onerror=alert(1)>"
    tree = parse(media_page(image_object(title=payload)))
    assert tree.one("h1").text == payload
    assert tree.one("title").text == payload + " — Darkroom"
    assert tree.one("img").attr("alt") == payload
    codes = tree.share_codes()
    assert codes["Markdown"] == f"![{payload}](http://localhost/images/2024/10/10/Red-fox.jpg)"


BAD_URLS = [
    "javascript:alert(1)",
    " JavaScript:alert(1)",
    "java\tscript:alert(1)",
    "\x01javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//evil.example/x.jpg",
    "/\\evil.example/x.jpg",
]


def _safe(value: str) -> bool:
    return value.startswith("#") or bool(re.match(r"(https?://|/(?![/\\]))", value))


@pytest.mark.parametrize("bad", BAD_URLS)
def test_unsafe_urls_are_neutralised(bad: str) -> None:
    cases = [
        image_object(url_viewer=bad, display_url=bad, thumb={"url": bad}),
        image_object(tags=[{"name": "t", "url": bad}]),
        image_object(url=bad),
        video_object(url_frame=bad, display_url=bad),
        video_object(url=bad),
    ]
    for image in cases:
        tree = parse(media_page(image))
        values = tree.url_values()
        assert values and all(_safe(v) for v in values), values
        for element in tree.elements:
            for value in element.attrs.values():
                assert "script:" not in (value or "").lower().replace("\t", "")
        for code in tree.share_codes().values():
            assert "script:" not in code.lower().replace("\t", "")
            assert "evil.example" not in code


def test_unsafe_viewer_url_becomes_hash_in_share_codes() -> None:
    codes = parse(media_page(image_object(url_viewer="javascript:alert(1)"))).share_codes()
    assert codes["Viewer link"] == "#"
    assert codes["BBCode linked"].startswith("[url=#][img]")


def test_unusable_media_url_shows_a_placeholder_and_no_share_codes() -> None:
    for image in (image_object(url="javascript:alert(1)"), video_object(url=None)):
        tree = parse(media_page(image))
        assert tree.all("img") == [] and tree.all("video") == []
        assert tree.all("textarea") == [] and tree.all("script") == []
        assert "preview of this file isn't available" in page_text(tree)
        assert not [a for a in tree.all("a") if "download" in a.attrs]


def test_root_relative_urls_are_kept() -> None:
    tree = parse(media_page(image_object(url="/images/a.jpg", url_viewer="/image/a.Ab12")))
    assert tree.one("img").attr("src") == "/images/a.jpg"
    assert tree.share_codes()["Viewer link"] == "/image/a.Ab12"


# --- missing fields -----------------------------------------------------------------------------


def test_missing_optional_fields_render_fine() -> None:
    image = image_object(description=None, nsfw=0, url_frame=None)
    for key in ("tags", "medium", "thumb", "how_long_ago", "extension", "display_url"):
        del image[key]
    tree = parse(media_page(image))
    text = page_text(tree)
    assert "Tags" not in text and "NSFW" not in text
    assert with_class(tree, "p", "desc") == []
    assert facts(tree)["Uploaded"] == "2024-10-10 19:58:00 UTC"
    assert "Format" not in facts(tree)
    # No thumbnail: the thumbnail code falls back to the full image.
    assert "Red-fox.jpg" in tree.share_codes()["HTML thumbnail"]


def test_an_almost_empty_object_still_renders() -> None:
    tree = parse(media_page({"url": "http://localhost/images/x.png"}))
    assert tree.one("h1").text == "Untitled"
    assert tree.one("title").text == "Untitled — Darkroom"
    assert tree.one("img").attr("alt") == "Untitled"
    assert parse(media_page({})).one("h1").text == "Untitled"


def test_title_falls_back_to_the_file_name() -> None:
    tree = parse(media_page(image_object(title=None, display_title=None)))
    assert tree.one("h1").text == "DSC_0042.JPG"


# --- other pages --------------------------------------------------------------------------------


def test_not_found_page() -> None:
    tree = parse(not_found_page())
    assert tree.one("h1").text == "That file doesn't exist"
    assert tree.one("title").text == "That file doesn't exist — Darkroom"
    assert [a for a in tree.one("main").children[0].children if a.tag == "p"]
    home_links = [a for a in tree.all("a") if a.attrs.get("href") == "/"]
    assert len(home_links) >= 2  # brand + the button in <main>
    assert any(m.attrs.get("name") == "robots" for m in tree.all("meta"))
    assert tree.all("script") == []


def test_deleted_page() -> None:
    tree = parse(not_found_page(deleted=True))
    assert tree.one("h1").text == "The file has been deleted"
    assert "doesn't exist" not in page_text(tree)


def test_home_page() -> None:
    tree = parse(home_page())
    assert tree.one("title").text == "Darkroom"
    assert tree.one("h1").text == "Darkroom"
    commands = [c.text for c in tree.all("code") if c.parent and c.parent.tag == "pre"]
    assert commands == ['curl -F source=@photo.jpg -H "X-API-Key: $KEY" /api/1/upload']
    assert "https://media.example.com/api/1/upload" in page_text(tree)
    main = tree.one("main")
    assert any(a.attrs.get("href") == "/v1/" and inside(a, main) for a in tree.all("a"))


def test_home_page_escapes_a_custom_api_path() -> None:
    tree = parse(home_page(api_path="https://media.example/api/1/upload?<x>"))
    (command,) = [c.text for c in tree.all("code") if c.parent and c.parent.tag == "pre"]
    assert command.endswith(" https://media.example/api/1/upload?<x>")
    assert tree.all("x") == []
    assert "media.example.com" not in page_text(tree)
