"""Chevereto ID codec (docs/chevereto-compatibility.md §5.4)."""

from __future__ import annotations

import pytest

from server.domain.ids import ALPHABET, IdCodec

CHANGEME_INDEX = "FYyQz7hsZjtdITe4GL39AKNOSXp2Bcu5DUiqw16MRb0WkloCgrvPV8mxEHJafn"

REFERENCE_VECTORS = [
    (0, 1, "Y"),
    (0, 62, "YF"),
    (0, 1000, "GZ"),
    (999, 1, "Gs"),
    (999, 1000, "zdmE"),
    (5000, 1, "Y3R"),
]


def test_salt_changeme_gives_the_reference_index() -> None:
    assert IdCodec("changeme", 0).index == CHANGEME_INDEX


def test_index_is_a_permutation_of_the_alphabet() -> None:
    for salt in ("", "changeme", "0a1b2c3d", "sél"):
        assert sorted(IdCodec(salt, 999).index) == sorted(ALPHABET)


def test_different_salts_give_different_indexes() -> None:
    assert IdCodec("changeme", 0).index != IdCodec("changemf", 0).index


@pytest.mark.parametrize(("padding", "n", "encoded"), REFERENCE_VECTORS)
def test_encode_matches_reference_vectors(padding: int, n: int, encoded: str) -> None:
    assert IdCodec("changeme", padding).encode(n) == encoded


@pytest.mark.parametrize(("padding", "n", "encoded"), REFERENCE_VECTORS)
def test_decode_matches_reference_vectors(padding: int, n: int, encoded: str) -> None:
    assert IdCodec("changeme", padding).decode(encoded) == n


@pytest.mark.parametrize("padding", [0, 1, 999, 5000])
def test_round_trip_over_small_and_boundary_ids(padding: int) -> None:
    codec = IdCodec("changeme", padding)
    boundaries = [62**k + delta for k in range(1, 8) for delta in (-1, 0, 1)]
    for n in [*range(1, 3000), *boundaries, 2**53 // max(padding, 1)]:
        assert codec.decode(codec.encode(n)) == n


def test_encoded_ids_use_only_index_characters_without_leading_zero_digit() -> None:
    codec = IdCodec("changeme", 999)
    for n in range(1, 2000):
        encoded = codec.encode(n)
        assert set(encoded) <= set(codec.index)
        assert encoded[0] != codec.index[0]


def test_encode_of_zero_or_negative_is_empty() -> None:
    for padding in (0, 999):
        codec = IdCodec("changeme", padding)
        assert codec.encode(0) == ""
        assert codec.encode(-7) == ""


def test_non_positive_padding_means_no_padding() -> None:
    assert IdCodec("changeme", -5).encode(62) == "YF"
    assert IdCodec("changeme", -5).decode("YF") == 62


def test_decode_of_empty_string_is_zero() -> None:
    assert IdCodec("changeme", 0).decode("") == 0
    assert IdCodec("changeme", 999).decode("") == 0


def test_decode_counts_unknown_characters_as_digit_zero() -> None:
    codec = IdCodec("changeme", 0)
    # "F" is index 0 for this salt, so an unknown character reads like it.
    assert codec.decode("Y!") == codec.decode("YF") == 62
    assert codec.decode("!!!") == 0
    assert codec.decode("-Y") == 1


def test_decode_counts_each_utf8_byte_of_a_non_ascii_character() -> None:
    codec = IdCodec("changeme", 0)
    assert codec.decode("Yé") == codec.decode("YFF") == 62**2


def test_decode_truncates_when_not_a_multiple_of_the_padding() -> None:
    raw = IdCodec("changeme", 0).encode(1000 * 999 + 998)
    assert IdCodec("changeme", 999).decode(raw) == 1000


def test_decode_never_raises_on_garbage() -> None:
    codec = IdCodec("changeme", 999)
    for garbage in ("\x00", "../../etc", "💥", " ", "a" * 500):
        assert codec.decode(garbage) >= 0
