"""The entry point: every format takes any source, rejects broken input, checks arguments."""

from __future__ import annotations

import io

import pytest

from server.adapters.codecs.strip import strip_metadata
from server.domain.errors import InvalidImage
from tests.unit.server.adapters.codecs.strip.samples import SAMPLES, jpeg_sample, strip


class Trickle(io.RawIOBase):
    """A non-seekable source that returns a few bytes per read (network-style)."""

    def __init__(self, data: bytes, step: int = 3) -> None:
        self._data, self._pos, self._step = data, 0, step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self._step, len(self._data) - self._pos)
        buffer[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


@pytest.mark.parametrize("fmt", ["jpeg", "png", "gif", "webp", "avif"])
def test_non_seekable_trickling_source_gives_the_same_result(fmt: str) -> None:
    original = SAMPLES[fmt]()
    expected = strip(fmt, original, orientation=6)
    out = io.BytesIO()
    strip_metadata(fmt, Trickle(original), out, orientation=6)  # type: ignore[arg-type]
    assert out.getvalue() == expected


@pytest.mark.parametrize("fmt", list(SAMPLES))
def test_empty_input_is_invalid(fmt: str) -> None:
    with pytest.raises(InvalidImage):
        strip(fmt, b"")


@pytest.mark.parametrize("fmt", list(SAMPLES))
def test_wrong_signature_is_invalid(fmt: str) -> None:
    data = SAMPLES[fmt]()
    with pytest.raises(InvalidImage):
        strip(fmt, b"\0\0\0\0" + data[4:])
    with pytest.raises(InvalidImage):
        strip(fmt, b"this is not an image, just some text that is long enough" * 4)


@pytest.mark.parametrize("fmt", list(SAMPLES))
@pytest.mark.parametrize("fraction", [0.02, 0.3, 0.6, 0.97])
def test_truncated_input_is_invalid(fmt: str, fraction: float) -> None:
    data = SAMPLES[fmt]()
    with pytest.raises(InvalidImage):
        strip(fmt, data[: max(3, int(len(data) * fraction))])


def test_bad_arguments_are_programming_errors() -> None:
    with pytest.raises(ValueError):
        strip("tiff", jpeg_sample())
    with pytest.raises(ValueError):
        strip("jpeg", jpeg_sample(), orientation=9)
