"""Request bodies as Chevereto reads them: multipart streamed part by part, the rest whole.

python-multipart's parser calls back synchronously while it consumes a chunk; the
callbacks only record events, which the async caller then acts on (awaiting the gRPC
stream's back-pressure), so memory holds one body chunk and a few events at a time.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

from python_multipart.multipart import MultipartParser, QuerystringParser, parse_options_header

SOURCE_FIELDS = ("source", "image")


@dataclass(frozen=True)
class FormLimits:
    """Bounds on what a form may make the shim hold before the server has seen it.

    A ``source``/``image`` text field may carry a base64 file (up to ``max_source_bytes``);
    every other Chevereto parameter is short, so ``max_field_bytes`` each. The count and
    the total are bounded too, so many fields cannot add up to what one may not be.
    """

    max_fields: int
    max_field_bytes: int
    max_source_bytes: int

    def field_cap(self, name: str) -> int:
        return self.max_source_bytes if name in SOURCE_FIELDS else self.max_field_bytes


class _FieldBudget:
    def __init__(self, limits: FormLimits) -> None:
        self.limits = limits
        self._fields = 0
        self._total = 0

    def start(self) -> None:
        self._fields += 1
        if self._fields > self.limits.max_fields:
            raise FormTooLarge(f"more than {self.limits.max_fields} fields")

    def add(self, name: str, size_now: int, added: int) -> None:
        self._total += added
        if size_now > self.limits.field_cap(name) or self._total > self.limits.max_source_bytes:
            raise FormTooLarge(name)


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

    def __init__(self, boundary: bytes, limits: FormLimits) -> None:
        self.events: list[FormEvent] = []
        self._budget = _FieldBudget(limits)
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
        elif part.filename is None:
            self._budget.start()

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        part = self._part
        if part.is_source_file:
            self.events.append(FileData(bytes(data[start:end])))
        elif part.filename is None:
            part.value += data[start:end]
            self._budget.add(part.name, len(part.value), end - start)
        # Other file parts are not Chevereto parameters: their bytes are dropped.

    def _part_end(self) -> None:
        part = self._part
        if part.is_source_file:
            self.events.append(FileEnd())
        elif part.filename is None and part.name:
            self.events.append(FieldEvent(part.name, part.value.decode("utf-8", "replace")))


async def multipart_events(
    body: AsyncIterator[bytes], boundary: bytes, limits: FormLimits
) -> AsyncIterator[FormEvent]:
    parsed = _MultipartEvents(boundary, limits)
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


async def read_small_body(body: AsyncIterator[bytes], limit: int) -> bytearray:
    # One buffer, handed on as is: json.loads reads a bytearray without a bytes copy.
    data = bytearray()
    async for chunk in body:
        data += chunk
        if len(data) > limit:
            raise FormTooLarge("body")
    return data


class _Unquoter:
    """Percent-decodes a field as its pieces arrive, so only the decoded bytes are kept."""

    def __init__(self) -> None:
        self.decoded = bytearray()
        self._carry = b""

    def feed(self, data: bytes) -> None:
        data = self._carry + data
        # An escape cut by the chunk boundary ("%" or "%4") waits for the next piece.
        cut = data.rfind(b"%", max(0, len(data) - 2))
        cut = len(data) if cut == -1 else cut
        self._carry = data[cut:]
        self.decoded += unquote_to_bytes(data[:cut].replace(b"+", b" "))

    def text(self) -> str:
        self.decoded += unquote_to_bytes(self._carry.replace(b"+", b" "))
        self._carry = b""
        return self.decoded.decode("utf-8", "replace")


async def urlencoded_fields(body: AsyncIterator[bytes], limits: FormLimits) -> dict[str, str]:
    """An urlencoded body parsed as it arrives: only the decoded fields are kept.

    Decoded as PHP does: '+' is a space, %XX escapes are bytes of UTF-8 (invalid
    sequences replaced), and a name without '=' has an empty value.
    """
    budget = _FieldBudget(limits)
    fields: dict[str, str] = {}
    current = {"name": _Unquoter(), "value": _Unquoter()}
    names: list[str] = [""]

    def on_field_start() -> None:
        current["name"], current["value"] = _Unquoter(), _Unquoter()
        budget.start()

    # Counted after decoding: the limits are sized for the decoded base64 a source
    # carries, and percent-encoding its '+', '/' and '=' adds about 6 % on the wire.
    def on_field_name(data: bytes, start: int, end: int) -> None:
        name = current["name"]
        before = len(name.decoded)
        name.feed(data[start:end])
        budget.add("", len(name.decoded), len(name.decoded) - before)

    def on_field_data(data: bytes, start: int, end: int) -> None:
        if not current["value"].decoded:
            names[0] = current["name"].text()
        value = current["value"]
        before = len(value.decoded)
        value.feed(data[start:end])
        budget.add(names[0], len(value.decoded), len(value.decoded) - before)

    def on_field_end() -> None:
        name = names[0] if current["value"].decoded else current["name"].text()
        if name:
            fields[name] = current["value"].text()
        current["value"] = _Unquoter()  # the value now lives only in fields
        names[0] = ""

    parser = QuerystringParser(
        callbacks={
            "on_field_start": on_field_start,
            "on_field_name": on_field_name,
            "on_field_data": on_field_data,
            "on_field_end": on_field_end,
        }
    )
    async for chunk in body:
        parser.write(chunk)
    parser.finalize()
    return fields


def json_fields(body: bytearray) -> dict[str, str]:
    """A JSON object's members as form values (PHP would see strings)."""
    try:
        document = json.loads(body or b"{}")
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
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
