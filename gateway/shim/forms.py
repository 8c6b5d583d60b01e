"""Request bodies as Chevereto reads them: multipart streamed part by part, the rest whole.

python-multipart's parser calls back synchronously while it consumes a chunk; the
callbacks only record events, which the async caller then acts on (awaiting the gRPC
stream's back-pressure), so memory holds one body chunk and a few events at a time.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from python_multipart.multipart import MultipartParser, parse_options_header

SOURCE_FIELDS = ("source", "image")


@dataclass(frozen=True)
class FieldEvent:
    name: str
    value: str


@dataclass(frozen=True)
class FileStart:
    name: str
    filename: str
    content_type: str


@dataclass(frozen=True)
class FileData:
    data: bytes


@dataclass(frozen=True)
class FileEnd:
    pass


FormEvent = FieldEvent | FileStart | FileData | FileEnd


class FormTooLarge(Exception):
    pass


@dataclass
class _Part:
    headers: dict[str, str] = field(default_factory=dict)
    name: str = ""
    filename: str | None = None
    is_source_file: bool = False
    value: bytearray = field(default_factory=bytearray)


class _MultipartEvents:
    """Callbacks of one multipart body, turned into a list of events."""

    def __init__(self, boundary: bytes, max_field_bytes: int) -> None:
        self.events: list[FormEvent] = []
        self._max_field_bytes = max_field_bytes
        self._part = _Part()
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._source_file_seen = False
        self.parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value_data,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )

    def _part_begin(self) -> None:
        self._part = _Part()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        name = self._header_name.decode("latin-1").strip().lower()
        self._part.headers[name] = self._header_value.decode("utf-8", "replace").strip()
        self._header_name.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        part = self._part
        _, params = parse_options_header(part.headers.get("content-disposition", ""))
        part.name = params.get(b"name", b"").decode("utf-8", "replace")
        raw_filename = params.get(b"filename")
        part.filename = None if raw_filename is None else raw_filename.decode("utf-8", "replace")
        # PHP puts a part in $_FILES when it has a filename; only the first file named
        # source/image is the upload, the way $_FILES keeps one entry per name.
        if part.filename is not None and part.name in SOURCE_FIELDS and not self._source_file_seen:
            self._source_file_seen = True
            part.is_source_file = True
            content_type = part.headers.get("content-type", "application/octet-stream")
            self.events.append(FileStart(part.name, part.filename, content_type))

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        part = self._part
        if part.is_source_file:
            self.events.append(FileData(bytes(data[start:end])))
        elif part.filename is None:
            part.value += data[start:end]
            if len(part.value) > self._max_field_bytes:
                raise FormTooLarge(part.name)
        # Other file parts are not Chevereto parameters: their bytes are dropped.

    def _part_end(self) -> None:
        part = self._part
        if part.is_source_file:
            self.events.append(FileEnd())
        elif part.filename is None and part.name:
            self.events.append(FieldEvent(part.name, part.value.decode("utf-8", "replace")))


async def multipart_events(
    body: AsyncIterator[bytes], boundary: bytes, max_field_bytes: int
) -> AsyncIterator[FormEvent]:
    parsed = _MultipartEvents(boundary, max_field_bytes)
    async for chunk in body:
        parsed.parser.write(chunk)
        for event in parsed.events:
            yield event
        parsed.events.clear()
    parsed.parser.finalize()
    for event in parsed.events:
        yield event


def boundary_of(content_type: str) -> bytes | None:
    kind, params = parse_options_header(content_type)
    if kind != b"multipart/form-data":
        return None
    return params.get(b"boundary") or None


async def read_small_body(body: AsyncIterator[bytes], limit: int) -> bytes:
    data = bytearray()
    async for chunk in body:
        data += chunk
        if len(data) > limit:
            raise FormTooLarge("body")
    return bytes(data)


def urlencoded_fields(body: bytes) -> dict[str, str]:
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def json_fields(body: bytes) -> dict[str, str]:
    """A JSON object's members as form values (PHP would see strings)."""
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        return {}
    if not isinstance(document, dict):
        return {}
    fields = {}
    for name, value in document.items():
        if isinstance(value, bool):
            fields[name] = "1" if value else ""
        elif value is None:
            continue
        elif isinstance(value, int | float | str):
            fields[name] = str(value)
    return fields
