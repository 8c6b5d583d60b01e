"""Chevereto text rules (docs/chevereto-compatibility.md §4, §5.2, §5.3)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.domain.text import (
    clean_exif_text,
    duration_time,
    format_db_datetime,
    how_long_ago,
    html_escape,
    mixed_name,
    parse_tags,
    seo_slug,
    size_formatted,
    stored_name_base,
    title_from_filename,
    title_truncated,
    truncate_title,
    unaccent,
)

# --- stored_name_base / mixed_name (§5.3) -------------------------------------------------


def test_stored_name_keeps_a_plain_name_and_its_case() -> None:
    assert stored_name_base("Holiday_Photo-01.JPG") == "Holiday_Photo-01"


def test_stored_name_of_the_docs_example_follows_the_4_2_rules() -> None:
    name = "Badgers _ animated music video _ MrWeebl.mp4"
    assert stored_name_base(name) == "Badgers-_-animated-music-video-_-MrWeebl"


def test_stored_name_drops_folders_of_either_separator() -> None:
    assert stored_name_base("/tmp/uploads/cat.png") == "cat"
    assert stored_name_base("C:\\Users\\me\\cat.png") == "cat"


def test_stored_name_strips_only_the_last_extension() -> None:
    assert stored_name_base("archive.tar.gz") == "archive.tar"
    assert stored_name_base("noextension") == "noextension"
    assert stored_name_base("trailingdot.") == "trailingdot"


def test_stored_name_strips_leading_dots() -> None:
    assert stored_name_base("..hidden.name.png") == "hidden.name"
    assert stored_name_base("...x.png") == "x"


def test_stored_name_of_a_dot_file_is_empty() -> None:
    # PHP pathinfo reads ".bashrc" as all extension.
    assert stored_name_base(".bashrc") == ""


@pytest.mark.parametrize("marker", ["th", "md", "original", "lg"])
def test_stored_name_strips_a_variant_marker(marker: str) -> None:
    assert stored_name_base(f"photo.{marker}.jpg") == "photo"


def test_stored_name_strips_the_variant_marker_once_and_case_sensitively() -> None:
    assert stored_name_base("photo.th.md.jpg") == "photo.th"
    assert stored_name_base("photo.TH.jpg") == "photo.TH"
    assert stored_name_base("photo.thumb.jpg") == "photo.thumb"


def test_stored_name_drops_a_repeated_stored_extension() -> None:
    assert stored_name_base("photo.jpg.jpg", extension="jpg") == "photo"
    assert stored_name_base("photo.JPG.jpg", extension="jpg") == "photo"
    assert stored_name_base("photo.png.jpg", extension="jpg") == "photo.png"
    assert stored_name_base("photo.jpg.jpg") == "photo.jpg"


def test_stored_name_repeated_extension_goes_before_the_variant_marker() -> None:
    assert stored_name_base("a.md.png.png", extension="png") == "a"


def test_stored_name_unaccents_latin_letters() -> None:
    assert stored_name_base("Crème brûlée à la façon.jpg") == "Creme-brulee-a-la-facon"
    assert stored_name_base("Straße Øresund.png") == "Strase-Oresund"


def test_stored_name_turns_whitespace_runs_into_one_dash_and_trims_dashes() -> None:
    assert stored_name_base("  a \t b\n c  .png") == "a-b-c"
    assert stored_name_base("--a--.png") == "a"


def test_stored_name_removes_characters_outside_dot_word_dash() -> None:
    assert stored_name_base("a+b=c(1)[2]{3}&'\"!@#$%^.png") == "abc123"


def test_stored_name_drops_other_scripts() -> None:
    assert stored_name_base("日本語.png") == ""
    assert stored_name_base("фото 1.png") == "-1"


def test_stored_name_trims_dashes_before_filtering() -> None:
    # Chevereto trims first, so a dash next to a removed character survives.
    assert stored_name_base("日-x.png") == "-x"


def test_stored_name_is_capped_at_200_characters() -> None:
    assert stored_name_base("a" * 300 + ".png") == "a" * 200


def test_stored_name_of_empty_input_is_empty() -> None:
    assert stored_name_base("") == ""
    assert stored_name_base("   .png") == ""


def test_unaccent_keeps_ascii_and_leaves_other_scripts() -> None:
    assert unaccent("Ångström") == "Angstrom"
    assert unaccent("plain-ASCII_1.2") == "plain-ASCII_1.2"
    assert unaccent("日本") == "日本"


def test_mixed_name_appends_the_hex_suffix() -> None:
    assert mixed_name("photo", "0123456789abcdef") == "photo0123456789abcdef"


def test_mixed_name_caps_the_base_at_184() -> None:
    name = mixed_name("b" * 200, "f" * 16)
    assert name == "b" * 184 + "f" * 16
    assert len(name) == 200


# --- titles -------------------------------------------------------------------------------


def test_title_from_filename_turns_separator_runs_into_spaces() -> None:
    name = "Badgers _ animated music video _ MrWeebl.mp4"
    assert title_from_filename(name) == "Badgers animated music video MrWeebl"


def test_title_from_filename_trims_and_drops_folders_and_extension() -> None:
    assert title_from_filename("/x/__my-holiday__pic.JPEG") == "my holiday pic"
    assert title_from_filename("a.b.c.png") == "a.b.c"
    assert title_from_filename("") == ""


def test_title_from_filename_keeps_non_ascii_spaces() -> None:
    # PHP's \s without /u matches ASCII whitespace only.
    assert title_from_filename("a\u00a0b.png") == "a\u00a0b"


def test_truncate_title_cuts_at_100_characters() -> None:
    assert truncate_title("x" * 101) == "x" * 100
    assert truncate_title("x" * 100) == "x" * 100
    assert truncate_title("short") == "short"


def test_truncate_title_counts_characters_not_bytes() -> None:
    assert truncate_title("é" * 150) == "é" * 100
    assert truncate_title("😀" * 101) == "😀" * 100


def test_title_truncated_keeps_titles_up_to_28() -> None:
    assert title_truncated("x" * 28) == "x" * 28
    assert title_truncated("") == ""


def test_title_truncated_cuts_to_25_plus_ellipsis_beyond_28() -> None:
    assert title_truncated("x" * 29) == "x" * 25 + "..."
    title = "Badgers animated music video MrWeebl"
    assert title_truncated(title) == "Badgers animated music vi..."


def test_title_truncated_trims_before_the_ellipsis() -> None:
    assert title_truncated("x" * 24 + " " + "y" * 10) == "x" * 24 + "..."


def test_title_truncated_counts_characters() -> None:
    assert title_truncated("ñ" * 30) == "ñ" * 25 + "..."


# --- seo_slug -----------------------------------------------------------------------------


def test_seo_slug_of_the_docs_title() -> None:
    title = "Badgers animated music video MrWeebl"
    assert seo_slug(title) == "Badgers-animated-music-video-MrWeebl"


def test_seo_slug_removes_the_forbidden_characters() -> None:
    assert seo_slug("a\\b/c~d&e!f'g\"h?i") == "abcdefghi"


def test_seo_slug_collapses_whitespace_and_dash_runs() -> None:
    assert seo_slug("a  -- b\t\nc") == "a-b-c"
    assert seo_slug(" -- edge -- ") == "edge"


def test_seo_slug_keeps_case_and_safe_punctuation() -> None:
    assert seo_slug("Hello World_v1.2") == "Hello-World_v1.2"


def test_seo_slug_percent_encodes_like_rawurlencode() -> None:
    assert seo_slug("ñandú 50%") == "%C3%B1and%C3%BA-50%25"
    assert seo_slug("a+b=c#d") == "a%2Bb%3Dc%23d"


def test_seo_slug_strips_html_tags() -> None:
    assert seo_slug("a <b>bold</b> move") == "a-bold-move"
    assert seo_slug("x<y") == "x"
    assert seo_slug("a<b<c>d>e") == "ae"


def test_seo_slug_keeps_a_stray_greater_than() -> None:
    assert seo_slug("a > b") == "a-%3E-b"


def test_seo_slug_of_empty_or_removed_title_is_empty() -> None:
    assert seo_slug("") == ""
    assert seo_slug("?!?") == ""


# --- size, duration, elapsed, dates -------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "0 B"),
        (1, "1 B"),
        (999, "999 B"),
        (1000, "1 KB"),
        (1500, "1.5 KB"),
        (999_949, "999.9 KB"),
        (999_950, "1000 KB"),
        (1_000_000, "1 MB"),
        (1_500_000, "1.5 MB"),
        (3_011_299, "3 MB"),
        (1_250_000, "1.3 MB"),
        (1_150_000, "1.2 MB"),
        (10_000_000, "10 MB"),
        (2_345_678_901, "2.3 GB"),
        (10**12, "1 TB"),
        (5 * 10**15, "5 PB"),
    ],
)
def test_size_formatted_uses_decimal_units(n: int, expected: str) -> None:
    assert size_formatted(n) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, ""),
        (-5, ""),
        (1, "00:01"),
        (59, "00:59"),
        (60, "01:00"),
        (754, "12:34"),
        (4505, "75:05"),
    ],
)
def test_duration_time_is_minutes_and_seconds(seconds: int, expected: str) -> None:
    assert duration_time(seconds) == expected


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (0, "moments ago"),
        (1, "1 second ago"),
        (59, "59 seconds ago"),
        (60, "1 minute ago"),
        (119, "1 minute ago"),
        (3599, "59 minutes ago"),
        (3600, "1 hour ago"),
        (2 * 3600, "2 hours ago"),
        (86399, "23 hours ago"),
        (86400, "1 day ago"),
        (6 * 86400, "6 days ago"),
        (7 * 86400, "1 week ago"),
        (29 * 86400, "4 weeks ago"),
        (30 * 86400, "1 month ago"),
        (364 * 86400, "11 months ago"),
        (365 * 86400, "1 year ago"),
        (3 * 365 * 86400, "3 years ago"),
    ],
)
def test_how_long_ago_names_the_largest_unit(delta: int, expected: str) -> None:
    assert how_long_ago(delta) == expected


def test_how_long_ago_ignores_the_sign() -> None:
    assert how_long_ago(-90) == "1 minute ago"


def test_format_db_datetime_is_php_y_m_d_h_i_s() -> None:
    moment = datetime(2024, 2, 9, 7, 5, 3, 999_999, tzinfo=UTC)
    assert format_db_datetime(moment) == "2024-02-09 07:05:03"


def test_format_db_datetime_pads_the_year() -> None:
    assert format_db_datetime(datetime(999, 1, 1)) == "0999-01-01 00:00:00"


# --- tags ---------------------------------------------------------------------------------


def test_parse_tags_splits_trims_and_collapses_whitespace() -> None:
    assert parse_tags(" cats ,  funny\t\tvideos ,dogs") == ["cats", "funny videos", "dogs"]


def test_parse_tags_dedupes_keeping_first_order_and_drops_empties() -> None:
    assert parse_tags("b, a, , b,a,,c") == ["b", "a", "c"]
    assert parse_tags("") == []
    assert parse_tags(" , ,") == []


def test_parse_tags_dedupe_is_case_sensitive() -> None:
    assert parse_tags("Cat, cat") == ["Cat", "cat"]


def test_parse_tags_drops_zero_like_php_array_filter() -> None:
    assert parse_tags("0, 00, a") == ["00", "a"]


def test_parse_tags_skips_tags_longer_than_32_characters() -> None:
    assert parse_tags("x" * 33 + ", " + "y" * 32) == ["y" * 32]
    assert parse_tags("é" * 32) == ["é" * 32]


def test_parse_tags_skips_tags_with_slash_or_hash() -> None:
    assert parse_tags("a/b, #tag, ok") == ["ok"]


@pytest.mark.parametrize("char", list("\\.?&=%+@!*;:"))
def test_parse_tags_skips_a_forbidden_character_alone_or_repeated(char: str) -> None:
    assert parse_tags(f"{char}, {char * 3}, ok") == ["ok"]


def test_parse_tags_keeps_forbidden_characters_mixed_with_others() -> None:
    assert parse_tags("c++, node.js, a&b, ..x, 1:1") == ["c++", "node.js", "a&b", "..x", "1:1"]


def test_parse_tags_stops_after_max_valid_tags() -> None:
    raw = "a, ..., b, " + "z" * 40 + ", c, d"
    assert parse_tags(raw, max_tags=2) == ["a", "b"]
    assert parse_tags(raw, max_tags=3) == ["a", "b", "c"]
    assert parse_tags(raw, max_tags=0) == ["a", "b", "c", "d"]


# --- html_escape / clean_exif_text --------------------------------------------------------


def test_html_escape_escapes_the_five_specials() -> None:
    assert html_escape('<a href="x">Tom\'s & Jerry</a>') == (
        "&lt;a href=&quot;x&quot;&gt;Tom&apos;s &amp; Jerry&lt;/a&gt;"
    )


def test_html_escape_leaves_existing_entities_alone() -> None:
    assert html_escape("Tom &amp; Jerry &copy; &#39; &#x1F600;") == (
        "Tom &amp; Jerry &copy; &#39; &#x1F600;"
    )


def test_html_escape_escapes_ampersands_of_invalid_entities() -> None:
    assert html_escape("&bogus; &#0; &#xD800; &amp") == "&amp;bogus; &amp;#0; &amp;#xD800; &amp;amp"


def test_html_escape_leaves_other_text_unchanged() -> None:
    assert html_escape("plain ñ 日本") == "plain ñ 日本"
    assert html_escape("") == ""


def test_clean_exif_text_removes_control_characters() -> None:
    assert clean_exif_text("a\x00b\tc\nd\x1fe") == "abcde"


def test_clean_exif_text_removes_non_ascii_like_php_on_utf8_bytes() -> None:
    assert clean_exif_text("Café ñ 日本 ok") == "Caf   ok"


def test_clean_exif_text_keeps_printable_ascii() -> None:
    printable = "".join(chr(code) for code in range(0x20, 0x80))
    assert clean_exif_text(printable) == printable
